"""`flask --app wallet demo push --batch N`: the simulator signs N school reports, sends one batch, follows it
with a progress bar to `done` and prints each bad item's code."""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from tests.api.test_integrators_doc import demo_json


def test_demo_push_batch_follows_the_batch_and_prints_each_bad_items_code(
        app: Any, live_server: str, agencies: dict[str, Any], pki: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "demo.json"
    path.write_text(json.dumps(demo_json(live_server, agencies, pki)))
    result = app.test_cli_runner().invoke(args=["demo", "push", "--batch", "4", "--bad", "3", "--demo-json",
                                                str(path), "--seed", "7"])
    assert result.exit_code == 0, result.output
    out = result.output  # the progress bars (stderr) and the lines printed (stdout) together
    assert re.search(r"batch [0-9a-f]{32} queued \(7 documents\)", out), out
    codes = [code for _, code in re.findall(r"(MEN-[0-9]{8}-[0-9A-F]{6}-[0-9]{4}): ([a-z_]+) — ", out)]
    assert codes == ["unsigned", "not_a_pdf", "metadata_mismatch"]
    assert re.search(r"batch [0-9a-f]{32} done: accepted 4 \(0 replayed\), rejected 3", out), out
