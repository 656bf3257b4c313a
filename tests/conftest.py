"""The project's fixtures: the testing kit (smbselect.pytest_plugin) and a small world."""

from __future__ import annotations

import pytest_asyncio

from smbselect import testing
from smbselect.testing import ADMIN_PASSWORD, PARTNER_PASSWORD

pytest_plugins = ["smbselect.pytest_plugin"]


@pytest_asyncio.fixture
async def world(db: str) -> dict:  # type: ignore[type-arg]
    """Two partners: Equant (China, Austria) and Nordic (Oslo); an admin; Li acts for both
    Equant locations, Mei only for China; certified and uncertified staff."""
    from datetime import date, timedelta

    from smbselect.db.enums import UserRole

    admin = await testing.make_user("admin", role=UserRole.ADMIN, password=ADMIN_PASSWORD)
    equant = await testing.make_partner("Equant")
    china = await testing.make_location(equant, "Equant China", "CN")
    austria = await testing.make_location(equant, "Equant Austria", "AT")
    nordic = await testing.make_partner("Nordic Networks")
    oslo = await testing.make_location(nordic, "Nordic Oslo", "NO")
    li = await testing.make_user("li.wei", partner=equant, password=PARTNER_PASSWORD,
                                 acts_for=[china, austria])
    mei = await testing.make_user("mei.lin", partner=equant, password=PARTNER_PASSWORD,
                                  acts_for=[china])
    chen = await testing.make_user("chen.jing", partner=equant, staff_of=[china],
                                   certifications={"CSE": None})
    anna = await testing.make_user("anna.huber", partner=equant, staff_of=[austria],
                                   certifications={"CSA": date.today() + timedelta(days=30)})
    ole = await testing.make_user("ole.hansen", partner=nordic, password=PARTNER_PASSWORD,
                                  acts_for=[oslo], staff_of=[oslo], certifications={"CSE": None})
    return {
        "admin": admin, "equant": equant, "china": china, "austria": austria,
        "nordic": nordic, "oslo": oslo, "li": li, "mei": mei, "chen": chen, "anna": anna,
        "ole": ole,
    }
