"""What the CRMs are, as plain data: the fields each stream reads and the forms of their instants.

The connectors that pull records and the mapping rules that read them must agree on both, and
may not import each other; so both read this package, which imports nothing of ours. The
sandbox CRM does not read it: a mistake here must not hide itself from the tests.
"""

from crm.instants import EPOCH_MS_FROM, InstantError, instant_or_none, parse_instant

__all__ = ["EPOCH_MS_FROM", "InstantError", "instant_or_none", "parse_instant"]
