"""``smbselect demo``: a small, realistic data set to walk the whole flow in GraphiQL.

The registered partner Equant with Equant China (CN) and Equant Austria (AT); a partner
user who acts for both; CSE- and CSA-certified staff at each location, one with an
expired certification and one with none; and an unregistered partner. Loading it twice
changes nothing.
"""

from __future__ import annotations

from datetime import date, timedelta

from tortoise.transactions import in_transaction

from smbselect.db.enums import UserRole
from smbselect.db.models import (
    Certification,
    Location,
    LocationMember,
    LocationStaff,
    Partner,
    User,
)
from smbselect.security import hash_password
from smbselect.settings import Settings

ADMIN = ("admin", "admin-demo-password", "Admin (Cisco program administrator)")
PARTNER_USER = ("li.wei", "partner-demo-password", "Equant: acts for Equant China and Equant Austria")
OTHER_USER = ("deniz.kaya", "partner-demo-password", "Türkiye Bilişim (unregistered partner)")


async def load_demo(settings: Settings) -> list[tuple[str, str, str]]:
    """Create the demo data unless it is there already; return the logins."""
    logins = [ADMIN, PARTNER_USER, OTHER_USER]
    if await User.exists(username=ADMIN[0]):
        return logins
    today = date.today()
    admin_hash = await hash_password(ADMIN[1])
    partner_hash = await hash_password(PARTNER_USER[1])
    async with in_transaction():
        await User.create(
            username=ADMIN[0], email="admin@smbselect.example", name="Ada Admin",
            role=UserRole.ADMIN, password_hash=admin_hash,
        )
        equant = await Partner.create(name="Equant", registered=True)
        china = await Location.create(partner=equant, name="Equant China", country="CN")
        austria = await Location.create(partner=equant, name="Equant Austria", country="AT")

        li = await User.create(
            username=PARTNER_USER[0], email="li.wei@equant.example", name="Li Wei",
            role=UserRole.PARTNER, partner=equant, password_hash=partner_hash,
        )
        await LocationMember.create(location=china, user=li)
        await LocationMember.create(location=austria, user=li)

        staff = [
            # username, name, location, certifications {code: expiry or None}
            ("chen.jing", "Chen Jing", china, {"CSE": None}),
            ("zhang.min", "Zhang Min", china, {"CSA": today + timedelta(days=365)}),
            ("zhou.yan", "Zhou Yan", china, {"CSE": today + timedelta(days=200), "CSA": None}),
            ("wang.lei", "Wang Lei", china, {"CSE": date(2025, 6, 30)}),  # expired
            ("liu.yang", "Liu Yang", china, {}),  # no certification
            ("anna.huber", "Anna Huber", austria, {"CSE": None}),
            ("lukas.gruber", "Lukas Gruber", austria, {"CSA": today + timedelta(days=400)}),
            ("sophie.wimmer", "Sophie Wimmer", austria, {"CSE": None}),
            ("eva.bauer", "Eva Bauer", austria, {"CSA": date(2025, 1, 31)}),  # expired
            ("max.wagner", "Max Wagner", austria, {}),  # no certification
        ]
        for username, name, location, certs in staff:
            person = await User.create(
                username=username, email=f"{username}@equant.example", name=name,
                role=UserRole.PARTNER, partner=equant,
            )
            await LocationStaff.create(location=location, user=person)
            for code, expires in certs.items():
                await Certification.create(user=person, code=code, expires_on=expires)

        turkiye = await Partner.create(name="Türkiye Bilişim", registered=False)
        istanbul = await Location.create(partner=turkiye, name="Türkiye Bilişim İstanbul", country="TR")
        deniz = await User.create(
            username=OTHER_USER[0], email="deniz.kaya@turkiye-bilisim.example", name="Deniz Kaya",
            role=UserRole.PARTNER, partner=turkiye, password_hash=partner_hash,
        )
        await LocationMember.create(location=istanbul, user=deniz)
        await LocationStaff.create(location=istanbul, user=deniz)
        await Certification.create(user=deniz, code="CSE", expires_on=None)
    return logins
