"""`governor fsar import`: a report file too large is refused before it is read, nothing stored."""

import sqlalchemy as sa

from governor.models import FsarRecord
from governor.storage.db import session_scope

REPORT_ID = "fsar_0c5e2a9d-41b7-4f3e-9d2a-7b6c5e4d3f21"


def document(proposal: str) -> str:
    """A report in the seed's Markdown form with that proposal."""
    return (
        f"# FSAR Proposal Report\n- id: {REPORT_ID}\n- timestamp: 2026-03-04T05:06:07.089Z\n"
        f"- severity: 3\n- block_execution: false\n- proposal:\n\n{proposal}\n\n"
        "## Risks\n- Drift\n\n## Mitigations\n- Watch it"
    )


def stored() -> int:
    with session_scope(readonly=True) as session:
        return session.execute(sa.select(sa.func.count()).select_from(FsarRecord)).scalar_one()


def test_a_report_file_past_the_cap_is_refused_naming_its_size_and_the_setting(
    migrated, cli, tmp_path
):
    huge = tmp_path / "huge.md"
    with huge.open("wb") as handle:  # 50 MB without writing them: the size alone refuses it
        handle.write(document("x").encode())
        handle.truncate(50_000_000)
    refused = cli("fsar", "import", str(huge))
    assert refused.exit_code == 2 and "Traceback" not in refused.output
    assert "huge.md is 50,000,000 bytes" in refused.stderr
    assert "at most 1,048,576 bytes" in refused.stderr
    assert "GOVERNOR_FSAR_MAX_BYTES" in refused.stderr
    big = tmp_path / "big.md"  # a well-formed report of 2 MB: over the default cap too
    big.write_text(document("\n".join(["A paragraph of a long proposal."] * 65_000)))
    assert "big.md is 2," in cli("fsar", "import", str(big)).stderr
    assert stored() == 0


def test_the_cap_is_a_setting_and_a_report_within_it_is_imported(
    migrated, cli, configure, tmp_path
):
    path = tmp_path / "report.md"
    path.write_text(document("Short proposal."))
    size = path.stat().st_size
    configure(fsar_max_bytes=size - 1)
    refused = cli("fsar", "import", str(path))
    assert refused.exit_code == 2 and f"at most {size - 1:,} bytes" in refused.stderr
    configure(fsar_max_bytes=size)
    imported = cli("fsar", "import", str(path))
    assert imported.exit_code == 0, imported.output
    assert stored() == 1


def test_a_folder_or_a_file_that_is_not_utf8_is_refused(migrated, cli, tmp_path):
    assert "is not a file" in cli("fsar", "import", str(tmp_path)).stderr
    latin = tmp_path / "latin.md"
    latin.write_bytes(document("Caf\xe9").encode("latin-1"))
    assert "latin.md is not UTF-8 text" in cli("fsar", "import", str(latin)).stderr
    assert "does not exist" in cli("fsar", "import", str(tmp_path / "nope.md")).stderr
