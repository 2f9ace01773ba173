"""Controls in the approval chain (issue 11): invoice facts, the related-persons register, recusal,
cumulative bands, resolutions and contracts, the 负面清单. The request services call `checks.check_request`
at submit and approve; everything else here is the one home of its rule (see docs/controls.md)."""
