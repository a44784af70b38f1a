"""The claims ledger, in one-way layers: :mod:`~dynopt.ledger.claims` (Claim, Verdict,
:func:`judge`, the ``@claim`` registry) ← :mod:`~dynopt.ledger.cache` (content-addressed
results) ← :mod:`~dynopt.ledger.report` (Markdown and JSON reports) and
:mod:`~dynopt.ledger.runner` (discover, select and run claims).
"""
from dynopt.ledger.claims import (CLAIM_METHODS, OPTIONAL_KEY, REGISTRY, REPORT_KEYS, RESULT_KEYS, SOURCES,
                                  VERDICTS, Claim, ClaimResult, Verdict, below, claim, judge, to_jsonable)
from dynopt.ledger.cache import Cache, code_version, make_key, package_version_hash
from dynopt.ledger.report import format_value, index_readme, load_existing, source_readme, write_reports
from dynopt.ledger.runner import Context, claim_key, discover, run_claim, run_claims, select

__all__ = ["VERDICTS", "CLAIM_METHODS", "RESULT_KEYS", "REPORT_KEYS", "OPTIONAL_KEY", "below", "Claim", "Verdict", "ClaimResult", "to_jsonable", "judge",
           "REGISTRY", "SOURCES", "claim", "Context", "discover", "select", "run_claim", "claim_key",
           "run_claims", "make_key", "code_version", "package_version_hash", "Cache", "format_value",
           "source_readme", "index_readme", "load_existing", "write_reports"]
