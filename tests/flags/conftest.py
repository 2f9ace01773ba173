from tests.flags.helpers import no_preventive

__all__ = ["no_preventive"]
