from smbselect.testing import ADMIN_PASSWORD


async def test_admin_logs_in_and_reads(client, world):
    admin = await client.as_user("admin", ADMIN_PASSWORD)
    data = await admin.data("{ me { username role } programs { code name jobRoles { code } } partners(search: \"equ\") { totalCount edges { node { name locations { name country } } } } }")
    assert data["me"] == {"username": "admin", "role": "ADMIN"}
    assert "SMB_SELECT" in [p["code"] for p in data["programs"]]
    assert data["partners"]["totalCount"] == 1
    assert data["partners"]["edges"][0]["node"]["name"] == "Equant"
