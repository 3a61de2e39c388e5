"""Airlock driven by the official OpenAI Python SDK, compared with the same SDK talking to qwen-emulator directly."""
import json
import urllib.request

import openai
import pytest

PROMPT = "Summarise the plot of a detective novel about a stolen violin"


def clients(stack):
    via = openai.OpenAI(base_url=stack.airlock_url, api_key="caller-key", max_retries=0)
    direct = openai.OpenAI(base_url=stack.emulator_url, api_key="caller-key", max_retries=0)
    return via, direct


def test_non_streaming_completion_arrives_intact(stack):
    via, direct = clients(stack)
    a = via.chat.completions.create(model="qwen-plus", messages=[{"role": "user", "content": PROMPT}], seed=3)
    b = direct.chat.completions.create(model="qwen-plus", messages=[{"role": "user", "content": PROMPT}], seed=3)
    assert a.object == "chat.completion"
    assert a.choices[0].message.content == b.choices[0].message.content
    assert a.choices[0].message.content
    assert a.choices[0].finish_reason == "stop"
    assert a.usage.total_tokens == b.usage.total_tokens > 0


def collect(stream):
    chunks = list(stream)
    content = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    reasoning = "".join(getattr(c.choices[0].delta, "reasoning_content", None) or "" for c in chunks if c.choices)
    return chunks, content, reasoning


def test_streaming_completion_arrives_intact(stack):
    via, direct = clients(stack)
    kwargs = dict(model="qwen-plus", messages=[{"role": "user", "content": PROMPT}], stream=True,
                  stream_options={"include_usage": True}, extra_body={"enable_thinking": True})
    chunks, content, reasoning = collect(via.chat.completions.create(**kwargs))
    ref_chunks, ref_content, ref_reasoning = collect(direct.chat.completions.create(**kwargs))
    assert len(chunks) == len(ref_chunks) > 3
    assert content == ref_content and content
    assert reasoning == ref_reasoning and reasoning
    assert chunks[0].choices[0].delta.role == "assistant"
    finish = [c for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finish and finish[-1].choices[0].finish_reason == "stop"
    usage = chunks[-1]
    assert usage.choices == [] and usage.usage.total_tokens > 0


def test_upstream_errors_reach_the_sdk_as_errors(stack):
    via, _ = clients(stack)
    with pytest.raises(openai.BadRequestError) as info:
        via.chat.completions.create(model="qwen-plus", messages=[{"role": "user", "content": "x [[fault:input_filter]]"}])
    assert info.value.code == "data_inspection_failed"
    with pytest.raises(openai.NotFoundError):
        via.chat.completions.create(model="no-such-model", messages=[{"role": "user", "content": "x"}])


def raw_post(stack, body: bytes):
    request = urllib.request.Request(stack.airlock_url + "/chat/completions", data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.mark.parametrize("body,status,code", [
    (b'{"model": "qwen-plus", "messages": [', 400, "invalid_json"),
    (b'{"model": "qwen-plus"}', 400, "missing_required_parameter"),
    (b'{"model":"qwen-plus","messages":[{"role":"user","content":"' + b"a" * (2 << 20) + b'"}]}', 413,
     "request_too_large"),
], ids=["malformed-json", "missing-messages", "2MiB-body"])
def test_bad_input_gets_an_openai_error_and_serving_continues(stack, body, status, code):
    got_status, payload = raw_post(stack, body)
    assert got_status == status
    assert payload["error"]["code"] == code
    assert set(payload["error"]) >= {"message", "type", "param", "code"}
    ok_status, ok = raw_post(stack, b'{"model":"qwen-plus","messages":[{"role":"user","content":"hi"}]}')
    assert ok_status == 200 and ok["choices"]


def test_logs_hold_neither_prompt_nor_key(stack):
    via, _ = clients(stack)
    via.chat.completions.create(model="qwen-plus", messages=[{"role": "user", "content": "my secret plan zebra-42"}])
    logs = stack.logs()
    assert "request_id=" in logs and "status=200" in logs
    assert "zebra-42" not in logs
    assert "sk-e2e-secret" not in logs and "caller-key" not in logs
