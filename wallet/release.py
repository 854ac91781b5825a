"""The Procfile's release step: migrate the database (never done by the web process)."""
from __future__ import annotations

from config.settings import Settings
from wallet.migrate import upgrade


def main() -> None:
    settings = Settings.from_env()
    upgrade(settings.database_url)
    print("migrations applied")


if __name__ == "__main__":
    main()
