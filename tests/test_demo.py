"""`newsbot demo` end to end: sample feeds over local HTTP → classify → store → what a user sees."""

from __future__ import annotations

from rich.console import Console

from bot.cli.demo import run_demo


async def test_demo_shows_on_topic_news_and_hides_the_rest() -> None:
    console = Console(record=True, width=200, color_system=None)

    assert await run_demo(console) == 0

    output = console.export_text()
    digest = output.split("2. The daily digest")[1].split("3. /search")[0]
    # Green and SCO news in all three languages reach the digest...
    assert "зеленые облигации" in digest
    assert "Балқаш көлін сақтау" in digest
    assert "SCO Secretary-General" in digest
    assert "Министры иностранных дел стран ШОС" in digest
    # ...weather, sport, fuel prices and oil output do not.
    for noise in ("Синоптики", "Кайрат", "АИ-92", "Добыча нефти", "хоккейден", "chess"):
        assert noise not in digest
    # /search ШОС also finds the English and Kazakh names of the organisation.
    sco_search = output.split("/search ШОС")[1].split("/search")[0]
    assert "SCO Secretary-General" in sco_search and "ШЫҰ елдерінің" in sco_search
    # /org resolves a declined Russian name to the canonical organisation.
    assert "🏢 ШОС" in output.split("/org шанхайской организации")[1]
