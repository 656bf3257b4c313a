"""The schema keeps the public contract (contract/core.graphql) and the committed snapshot."""

from __future__ import annotations

from pathlib import Path

from graphql import build_schema, find_breaking_changes, find_dangerous_changes

from smbselect.schema.root import schema

ROOT = Path(__file__).resolve().parents[1]
CONTRACT = ROOT / "contract" / "core.graphql"
SNAPSHOT = ROOT / "schema.graphql"

# Parts of the contract that the next issue (the invitation/application/review flow) builds.
# This list only shrinks; once it is empty the whole contract is met.
NOT_YET_BUILT = {
    "Upload", "ApplicationStatus", "Decision", "JobAllocation", "TermsAcceptance",
    "DocumentStatus", "DocumentReviewDecision", "Document", "SubmitBlocker",
    "ApplicationEventKind", "Actor", "ApplicationEvent", "Application", "ApplicationEdge",
    "ApplicationConnection", "ApplicationFilter", "ApplicationOrderField", "OrderDirection",
    "ApplicationOrder", "Invitation", "InvitationPreview", "EmailPreview",
    "InvitationSendInput", "InvitationSendPayload", "InvitationAcceptInput",
    "InvitationAcceptPayload", "ApplicationStartInput", "ApplicationStartPayload",
    "JobAllocationInput", "JobAllocationsSaveInput", "JobAllocationsSavePayload",
    "TermsAcceptInput", "TermsAcceptPayload", "TermsDeclineInput", "TermsDeclinePayload",
    "DocumentUploadInput", "DocumentUploadPayload", "DocumentReviewInput",
    "DocumentReviewPayload", "ApplicationSubmitInput", "ApplicationSubmitPayload",
    "ApplicationWithdrawInput", "ApplicationWithdrawPayload", "ApplicationDecideInput",
    "ApplicationDecidePayload",
    "Location.applications", "Query.application", "Query.applications",
    "Query.invitationPreview", "Query.decisionEmailPreview", "Mutation.invitationSend",
    "Mutation.invitationAccept", "Mutation.applicationStart", "Mutation.jobAllocationsSave",
    "Mutation.termsAccept", "Mutation.termsDecline", "Mutation.documentUpload",
    "Mutation.applicationSubmit", "Mutation.applicationWithdraw", "Mutation.documentReview",
    "Mutation.applicationDecide",
}


def _removed_name(description: str) -> str | None:
    # graphql-core words removals as "X was removed." or "Field T.f was removed."
    if not description.endswith(" was removed."):
        return None
    return description.removesuffix(" was removed.").removeprefix("Field ")


def test_no_breaking_change_against_the_contract() -> None:
    contract = build_schema(CONTRACT.read_text())
    ours = build_schema(schema.as_str())
    breaking = [c.description for c in find_breaking_changes(contract, ours)]
    unexpected = [d for d in breaking if _removed_name(d) not in NOT_YET_BUILT]
    assert unexpected == []
    defaults = [
        c.description for c in find_dangerous_changes(contract, ours)
        if c.type.name == "ARG_DEFAULT_VALUE_CHANGE"
    ]
    assert defaults == []


def test_contract_descriptions_are_kept() -> None:
    contract = build_schema(CONTRACT.read_text())
    ours = build_schema(schema.as_str())
    differ = []
    for name, want in contract.type_map.items():
        have = ours.type_map.get(name)
        if name.startswith("__") or have is None:
            continue
        if want.description and (have.description or "").strip() != want.description.strip():
            differ.append(name)
        for kind in ("fields", "values"):
            for member, w in (getattr(want, kind, None) or {}).items():
                h = (getattr(have, kind, None) or {}).get(member)
                if w.description and h is not None and (h.description or "").strip() != w.description.strip():
                    differ.append(f"{name}.{member}")
    assert differ == []


def test_committed_snapshot_matches() -> None:
    # Regenerate with: .venv/bin/smbselect schema > schema.graphql
    assert SNAPSHOT.read_text().strip() == schema.as_str().strip()


def test_contract_copy_is_current() -> None:
    shared = ROOT.parent / "shared" / "contract" / "core.graphql"
    if shared.exists():  # beside a checkout on the team's machines and in CI
        assert shared.read_text() == CONTRACT.read_text()
