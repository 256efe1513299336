"""The ns-3 upgrade checklist (ns3-scenarios/doc/ns3-upgrade-checklist.md) lists every private member
the C++ reaches, and it was checked against the ns-3 version the build uses.

No binary is run: the sources and the checklist are parsed, and the build's facts
(build/gaidt-build.json) are read when a build exists.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from gaidt.ns3_runner import BUILD_DIR

SCENARIOS = Path(__file__).resolve().parent.parent / "ns3-scenarios"
CHECKLIST = SCENARIOS / "doc" / "ns3-upgrade-checklist.md"

# GAIDT_PRIVATE_MEMBER(Tag, Class, member, Type);  (may span lines)
MACRO = re.compile(r"GAIDT_PRIVATE_MEMBER\(\s*(\w+)\s*,\s*([\w:]+)\s*,\s*(\w+)\s*,[^;]*\)\s*;", re.S)
# template struct Expose<Tag, &ns3::Class::member>;  (the header's own tags; not the macro's body)
EXPOSE = re.compile(r"template struct Expose<\s*(\w+)\s*,\s*&([\w:]+)::(\w+)\s*>")
ROW = re.compile(r"^\|\s*`(\w+)`\s*\|\s*`([\w:]+)`\s*\|\s*`(\w+)`\s*\|\s*`([^`]+)`\s*\|")


def _bare(cls: str) -> str:
    return cls.removeprefix("ns3::")


def tags_in_sources() -> set[tuple[str, str, str, str]]:
    """(tag, class, member, file relative to ns3-scenarios/) of every private-member tag in the C++."""
    found = set()
    for path in sorted(SCENARIOS.rglob("*")):
        if path.suffix not in (".h", ".cc") or "examples" in path.parts:
            continue
        text = path.read_text()
        rel = path.relative_to(SCENARIOS).as_posix()
        for m in MACRO.finditer(text):
            found.add((m[1], _bare(m[2]), m[3], rel))
        for m in EXPOSE.finditer(text):
            if m[1] != "TagName":  # inside the macro's definition
                found.add((m[1], _bare(m[2]), m[3], rel))
    return found


def checklist_rows() -> set[tuple[str, str, str, str]]:
    """(tag, class, member, file) of every row of the checklist's private-member table."""
    return {(m[1], _bare(m[2]), m[3], m[4]) for line in CHECKLIST.read_text().splitlines()
            if (m := ROW.match(line))}


def checked_version() -> str:
    m = re.search(r"^Checked against ns-3 ([0-9.]+)", CHECKLIST.read_text(), re.M)
    assert m, f"{CHECKLIST} has no 'Checked against ns-3 X.Y' line"
    return m[1]


@pytest.mark.unit
def test_the_parser_sees_the_private_members_we_know_of():
    # a parser that finds nothing would pass the next test vacuously
    tags = tags_in_sources()
    assert ("SrsIndexSetTag", "LteEnbRrc", "m_ueSrsConfigurationIndexSet", "model/lte-private-access.h") in tags
    assert any(t[3] == "model/fast/ue-clock-gate.cc" and t[1] == "LteUePhy" for t in tags)
    assert any(t[3] == "model/fast/pf-idle-tti.cc" and t[1] == "PfFfMacScheduler" for t in tags)
    assert len(tags) >= 40


@pytest.mark.unit
def test_every_private_member_reached_is_in_the_checklist_and_no_row_is_stale():
    in_code, listed = tags_in_sources(), checklist_rows()
    missing = sorted(in_code - listed)
    stale = sorted(listed - in_code)
    assert not missing, (f"private members reached but not listed in {CHECKLIST.name} "
                         f"(tag, class, member, file): {missing}")
    assert not stale, f"rows of {CHECKLIST.name} that no source reaches any more: {stale}"


@pytest.mark.unit
def test_no_private_access_where_ns3_has_an_attribute():
    # ns-3 3.44 has the attribute LteUePhy::DownlinkCqiPeriodicity; the private setter is not reached
    for path in SCENARIOS.rglob("*.[hc]*"):
        if path.suffix in (".h", ".cc"):
            assert "&ns3::LteUePhy::SetDownlinkCqiPeriodicity" not in path.read_text(), path


@pytest.mark.ns3  # reads the build's facts (build/gaidt-build.json)
def test_the_build_uses_the_ns3_version_the_checklist_was_checked_against():
    facts = BUILD_DIR / "gaidt-build.json"
    if not facts.exists():
        pytest.skip(f"no build ({facts} missing)")
    built = json.loads(facts.read_text())["ns3_version"]
    to_recheck = "\n".join(f"  {cls}::{member} ({file})" for _, cls, member, file in sorted(checklist_rows()))
    assert built == checked_version(), (
        f"the build uses ns-3 {built}, but {CHECKLIST} was checked against ns-3 {checked_version()}: "
        f"re-check every row (private members below, and the copied ns-3 logic) against {built}, "
        f"then update its 'Checked against' line.\n{to_recheck}")
