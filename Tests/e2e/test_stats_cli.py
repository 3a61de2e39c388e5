"""`airlock stats --json` and `airlock outcomes` read the same fleet numbers as GET /airlock/stats."""
import json
import os
import subprocess
import urllib.request

import openai

from conftest import BIN


def cli(stack, *args):
    env = dict(os.environ, AIRLOCK_URL=f"http://127.0.0.1:{stack.airlock_port}")
    env.pop("AIRLOCK_ADMIN_TOKEN", None)
    return subprocess.run([os.path.join(BIN, "airlock"), *args], capture_output=True, text=True, timeout=60, env=env)


def test_stats_cli_matches_the_api(stack):
    client = openai.OpenAI(base_url=stack.airlock_url, api_key="k", max_retries=0)
    client.chat.completions.create(model="qwen-plus", messages=[{"role": "user", "content": "stats cli check"}])
    try:
        client.chat.completions.create(model="qwen-plus",
                                       messages=[{"role": "user", "content": "refuse [[fault:input_filter]]"}])
    except openai.BadRequestError:
        pass
    result = cli(stack, "stats", "--json", "--window", "15m")
    assert result.returncode == 0, result.stderr
    from_cli = json.loads(result.stdout)
    with urllib.request.urlopen(f"http://127.0.0.1:{stack.airlock_port}/airlock/stats?window=15m") as response:
        from_api = json.loads(response.read())
    assert from_cli["requests"] == from_api["requests"] >= 2
    assert from_cli["outcomes"] == from_api["outcomes"]
    assert from_cli["outcomes"].get("refusal_provider_input", 0) >= 1
    table = cli(stack, "stats", "--window", "15m")
    assert table.returncode == 0 and "refusals (decisions)" in table.stdout and "failures (accidents)" in table.stdout
    ledger = cli(stack, "outcomes", "--kind", "refusal", "--since", "10m", "--json")
    assert ledger.returncode == 0, ledger.stderr
    records = json.loads(ledger.stdout)["records"]
    assert records and all(r["kind"] == "refusal" for r in records)
    assert "refuse" not in ledger.stdout, "the ledger holds no prompt text"
