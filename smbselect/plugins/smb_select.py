"""The built-in SMB Select program, written only on the public hooks.

It is deliberately an ordinary plugin: it shows a program owner everything they need
(a definition, nothing else) and proves that the core has no special case for it. Its
rules are the defaults: the three roles everywhere, any unexpired CSE or CSA qualifies,
no documents, no extra blockers.

Changing TERMS_TEXT changes its SHA-256, so partners who accepted the old text are asked
again; bump TERMS_VERSION with it.
"""

from __future__ import annotations

from smbselect.plugins.definitions import JobRoleDef, ProgramDef, TermsDef
from smbselect.plugins.hookspecs import hookimpl

CODE = "SMB_SELECT"
CERTIFICATIONS = ("CSE", "CSA")
TERMS_VERSION = "2026-01"

DESCRIPTION = (
    "SMB Select is the partner program for companies that sell to and support small and "
    "medium businesses. A selected partner location names a certified Account Manager, "
    "Sales Engineer and Field Engineer, accepts the program's terms and conditions, and, "
    "once approved, is listed as an SMB Select partner with access to the program's "
    "pricing, demonstration equipment, sales leads and priority technical support."
)

TERMS_TEXT = """\
SMB Select Partner Program: Terms and Conditions (version 2026-01)

These terms apply between the program operator and the partner company location that \
accepts them (the "Partner"). They apply from the day the Partner's application is \
approved until the participation ends under clause 8.

1. Participation
1.1 Participation is by invitation only and applies to the location named in the \
application. It cannot be transferred to another location, company or person.
1.2 The program operator may approve or reject an application at its own discretion, \
and may ask for changes before deciding.

2. Certified staff
2.1 The Partner names, for each of the roles Account Manager, Sales Engineer and Field \
Engineer, a person employed at the location who holds a valid CSE or CSA certification. \
One person may hold at most two of these roles.
2.2 The Partner keeps these certifications valid for as long as it participates, and \
tells the program operator within 30 days when a named person leaves the location or \
a certification expires, naming a qualified replacement within 90 days.

3. The Partner's obligations
3.1 The Partner represents the products of the program truthfully, sells them only to \
business customers, and uses the program's name and logo only as the brand guidelines \
in force allow.
3.2 The Partner provides first-line support to its SMB Select customers in the local \
language during normal business hours, and escalates problems it cannot solve through \
the program's support channel.
3.3 The Partner complies with all applicable laws, including export control, anti-bribery \
and competition law. It does not offer or accept anything of value to win business \
improperly.

4. Program benefits
4.1 The program operator gives the Partner access to program pricing, sales leads, \
demonstration equipment and priority technical support as described in the program \
guide in force. Benefits may change with 60 days' notice.
4.2 Sales leads are offered in good faith and without any guarantee of business.

5. Data protection
5.1 Each party processes personal data received from the other only for the purpose of \
the program and in compliance with the applicable data protection law, including, where \
it applies, the EU General Data Protection Regulation (GDPR).
5.2 The Partner confirms that it has informed the persons it names in the application \
that their name, contact details and certifications are shared with the program \
operator for the purpose of the program.
5.3 Each party takes appropriate technical and organisational measures to protect \
personal data, and informs the other without undue delay of any breach that concerns \
data received from it.

6. Confidentiality
6.1 Program pricing, sales leads and any information marked as confidential are kept \
confidential by the Partner during participation and for three years after it ends.

7. Audit
7.1 On reasonable notice, and no more than once a year, the program operator may verify \
the Partner's compliance with these terms, including the certifications of its named \
staff.

8. Term and termination
8.1 Either party may end the participation with 90 days' written notice.
8.2 The program operator may end the participation with immediate effect if the Partner \
seriously breaches these terms, or does not remedy another breach within 30 days of \
being told of it, or if the location no longer has qualified staff for every role after \
the period of clause 2.2.
8.3 When the participation ends, the Partner stops presenting itself as an SMB Select \
partner and returns or destroys the program's confidential information.

9. General
9.1 The program operator may change these terms by publishing a new version. The Partner \
is asked to accept the new version; participation under the old version ends if it is \
not accepted within 60 days.
9.2 These terms are the whole agreement on the program and replace any earlier \
understanding about it. If one clause is invalid, the others remain in force.
"""

PROGRAM = ProgramDef(
    code=CODE,
    name="SMB Select",
    description=DESCRIPTION,
    job_roles=(
        JobRoleDef("ACCOUNT_MANAGER", "Account Manager", CERTIFICATIONS, headcount=1),
        JobRoleDef("SALES_ENGINEER", "Sales Engineer", CERTIFICATIONS, headcount=1),
        JobRoleDef("FIELD_ENGINEER", "Field Engineer", CERTIFICATIONS, headcount=1),
    ),
    max_roles_per_person=2,
    terms=TermsDef(version=TERMS_VERSION, text=TERMS_TEXT, format="PLAIN", locale="en"),
    review_days=5,
    required_documents=(),
    support_email=None,  # the service's support_email setting
)


@hookimpl
def smbselect_programs() -> list[ProgramDef]:
    return [PROGRAM]
