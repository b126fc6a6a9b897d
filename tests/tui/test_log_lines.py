"""The log keeps its shown lines up to date as entries come and go (it adds each entry's
lines instead of rebuilding them all at every write)."""

from __future__ import annotations

from tui_helpers import SIZE, settle

from stepgrad.tui.widgets.command_log import MAX_ENTRIES, CommandLog


async def test_the_log_shows_the_last_entries_line_for_line(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        log = app.query_one(CommandLog)
        for n in range(MAX_ENTRIES + 40):
            log.add_command(f"p {n}", "x" * (n % 7) + ("\nsecond line" if n % 3 else ""))
        await pilot.pause()
        assert len(log.entries) == MAX_ENTRIES
        assert log.lines == [strip for strips in log._rendered for strip in strips]
        assert log.virtual_size.width == max(strip.cell_length for strip in log.lines)
        assert log.lines[-1].text.rstrip() in ("x" * ((MAX_ENTRIES + 39) % 7), "second line")
        assert "(sg) p 0" not in log.text and f"(sg) p {MAX_ENTRIES + 39}" in log.text
