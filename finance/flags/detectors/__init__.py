"""One module per flag type of EXCHANGE.md §6; each defines `DETECTOR` (finance.flags.engine.Detector).
The registry (finance.flags.registry) lists them."""
