"""The claims ledger: :class:`Claim`, :func:`judge`, the runner, the cache and the reports
(Markdown and JSON, written atomically).
"""
from .claims import VERDICTS, METHODS, RESULT_KEYS, Claim, Verdict, ClaimResult, to_jsonable, judge, REGISTRY, SOURCES, claim, Context, discover, select, run_claim, claim_key, run_claims
from .cache import make_key, code_version, package_version_hash, Cache
from .report import atomic_write_text, atomic_savefig, format_value, source_readme, index_readme, load_existing, write_reports

__all__ = ["VERDICTS", "METHODS", "RESULT_KEYS", "Claim", "Verdict", "ClaimResult", "to_jsonable", "judge", "REGISTRY", "SOURCES", "claim", "Context", "discover", "select", "run_claim", "claim_key", "run_claims", "make_key", "code_version", "package_version_hash", "Cache", "atomic_write_text", "atomic_savefig", "format_value", "source_readme", "index_readme", "load_existing", "write_reports"]
