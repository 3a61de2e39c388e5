"""`promtool check metrics` (Debian package prometheus, installed by make) accepts Airlock's /metrics after traffic."""
import shutil
import subprocess
import urllib.request

import openai


def test_promtool_accepts_metrics(stack):
    client = openai.OpenAI(base_url=stack.airlock_url, api_key="k", max_retries=0)
    client.chat.completions.create(model="qwen-plus", messages=[{"role": "user", "content": "hello"}])
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing: install the Debian package prometheus (make deps does)"
    with urllib.request.urlopen(stack.airlock_url.replace("/v1", "/metrics"), timeout=10) as response:
        text = response.read()
    assert b"airlock_requests_total" in text
    result = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, timeout=60)
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()
