"""Client from path, assignment from the staff table, share from its root."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from monitor.config import load_config
from monitor.enrich import Enricher, compile_client_pattern
from tests.helpers import make_event

CONFIG = """\
host: {name: fs01}
clients:
  paths: ["/srv/share/clients/{client}/**", "/srv/archive/*/{client}/**"]
shares: {clients: /srv/share/clients}
staff:
  alice: [acme]
  carol: {clients: ["*"], except: [globex]}
"""


def enricher(tmp_path: Path) -> Enricher:
    path = tmp_path / "w.yaml"
    path.write_text(CONFIG)
    return Enricher(load_config(path))


def test_client_pattern_matches_the_folder_and_everything_below_it() -> None:
    pattern = compile_client_pattern("/srv/share/clients/{client}/**")
    assert pattern.match("/srv/share/clients/acme")["client"] == "acme"  # type: ignore[index]
    assert pattern.match("/srv/share/clients/acme/a/b.xlsx")["client"] == "acme"  # type: ignore[index]
    assert pattern.match("/srv/share/clients") is None
    assert pattern.match("/srv/share/clientsX/acme") is None


def test_single_star_matches_one_segment(tmp_path: Path) -> None:
    e = enricher(tmp_path)
    assert e.client_of("/srv/archive/2023/globex/x.pdf") == "globex"
    assert e.client_of("/srv/archive/2023/q1/globex/x.pdf") == "q1"


def test_unassigned_staff_is_marked_not_assigned(tmp_path: Path) -> None:
    e = enricher(tmp_path)
    ev = e(make_event(1, user_name="alice", client=None, assigned=None,
                      file_path="/srv/share/clients/globex/a.xlsx"))
    assert (ev.client, ev.assigned, ev.share, ev.host_name) == ("globex", False, "clients", "fs01")


def test_domain_and_case_do_not_hide_a_staff_member(tmp_path: Path) -> None:
    e = enricher(tmp_path)
    for name in ("FIRM\\Alice", "alice@firm.local", "ALICE"):
        ev = e(make_event(1, user_name=name, client=None, assigned=None))
        assert ev.assigned is True


def test_all_access_role_with_exclusion(tmp_path: Path) -> None:
    e = enricher(tmp_path)
    at = datetime(2026, 11, 2, 9, tzinfo=UTC)
    assert e.assigned("carol", "acme", at) is True
    assert e.assigned("carol", "globex", at) is False


def test_unknown_user_or_path_leaves_assignment_absent(tmp_path: Path) -> None:
    e = enricher(tmp_path)
    assert e(make_event(1, user_name="mallory", client=None, assigned=None)).assigned is None
    ev = e(make_event(1, client=None, assigned=None, file_path="/etc/passwd"))
    assert (ev.client, ev.assigned) == (None, None)


def test_rename_out_of_a_client_folder_still_names_the_client(tmp_path: Path) -> None:
    e = enricher(tmp_path)
    ev = e(make_event(1, client=None, assigned=None, file_path="/tmp/x",
                      file_target_path="/srv/share/clients/acme/x"))
    assert ev.client == "acme"


def test_departed_staff_and_archived_clients_are_marked(tmp_path: Path) -> None:
    from datetime import UTC, datetime
    path = tmp_path / "w.yaml"
    left = "  alice: {clients: [acme], left: 2026-06-30}"
    path.write_text(CONFIG.replace("  alice: [acme]", left)
                    .replace('"/srv/archive/*/{client}/**"]', '"/srv/archive/*/{client}/**"]\n'
                             "  archived: [oldco]"))
    e = Enricher(load_config(path))
    # 2026-06-30 23:30 in Shanghai is still her last day; 16:30 UTC is 00:30 on 1 July there
    last_day = datetime(2026, 6, 30, 15, 30, tzinfo=UTC)
    after = datetime(2026, 6, 30, 16, 30, tzinfo=UTC)
    assert e(make_event(1, timestamp=last_day, assigned=None)).departed is False
    assert e(make_event(1, timestamp=after, assigned=None)).departed is True
    assert e(make_event(1, user_name="carol", assigned=None)).departed is None
    ev = e(make_event(1, client=None, file_path="/srv/share/clients/oldco/a.pdf"))
    assert ev.archived is True
    assert e(make_event(1, client=None)).archived is False


def test_ignored_folders_in_a_client_place_are_not_clients(tmp_path: Path) -> None:
    path = tmp_path / "w.yaml"
    path.write_text(CONFIG.replace(
        '  paths: ["/srv/share/clients/{client}/**", "/srv/archive/*/{client}/**"]',
        '  paths: ["/srv/share/clients/{client}/**", "/srv/share/clients/_存档/{client}/**"]\n'
        '  ignore: ["_模板", "Scans", "_*"]'))
    enrich = Enricher(load_config(path))
    assert enrich.client_of("/srv/share/clients/acme/a.xlsx") == "acme"
    assert enrich.client_of("/srv/share/clients/_模板/凭证.xlsx") is None
    assert enrich.client_of("/srv/share/clients/scans/0001.pdf") is None  # any case
    assert enrich.client_of("/srv/share/clients/_tmp/x") is None  # a pattern
    # a later pattern still places what is under an ignored folder
    assert enrich.client_of("/srv/share/clients/_存档/globex/2019.xlsx") == "globex"
    ev = enrich(make_event(user_name="alice", file_path="/srv/share/clients/_模板/凭证.xlsx",
                           client=None, assigned=None))
    assert ev.client is None and ev.assigned is None
