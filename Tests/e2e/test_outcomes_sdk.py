"""Every qwen-emulator fault through Airlock, seen by the official OpenAI SDK: the outcome Airlock reports, the status
the SDK sees, streaming and not."""
import openai
import pytest

FAULTS = [
    # fault, status, outcome (whole), outcome (stream), stream ends with an SSE error event
    ("input_filter", 400, "refusal_provider_input", "refusal_provider_input", False),
    ("output_filter", 400, "refusal_provider_output", "refusal_provider_output", False),
    ("output_filter_midstream", 400, "refusal_provider_output", "refusal_provider_output", True),
    ("rate_limit", 429, "failure_rate_limited", "failure_rate_limited", False),
    ("rate_limit_retry_after", 200, "ok", "ok", False),
    ("server_error", 500, "failure_upstream_5xx", "failure_upstream_5xx", False),
    ("unavailable", 503, "failure_upstream_5xx", "failure_upstream_5xx", False),
    ("timeout", 504, "failure_timeout", "failure_timeout", False),
    ("slow_first_byte", 200, "ok", "ok", False),
    ("disconnect_midstream", 502, "failure_network", "failure_stream_cut", True),
    ("malformed_json", 502, "failure_malformed", "failure_malformed", True),
    ("bad_key", 401, "failure_client_4xx", "failure_client_4xx", False),
    ("unknown_model", 404, "failure_client_4xx", "failure_client_4xx", False),
    ("refusal", 200, "refusal_model", "refusal_model", False),
]


def client(stack):
    return openai.OpenAI(base_url=stack.airlock_url, api_key="caller-key", max_retries=0, timeout=30)


def headers(fault):
    return {"x-emulator-fault": fault, "x-emulator-delay-ms": "100"}


@pytest.mark.parametrize("fault,status,outcome,_stream_outcome,_event", FAULTS, ids=[f[0] for f in FAULTS])
def test_whole_answer_outcome(stack, fault, status, outcome, _stream_outcome, _event):
    messages = [{"role": "user", "content": f"about {fault}"}]
    if status == 200:
        raw = client(stack).chat.completions.with_raw_response.create(
            model="qwen-plus", messages=messages, extra_headers=headers(fault))
        assert raw.headers["x-airlock-outcome"] == outcome
        assert raw.parse().choices[0].message.content
    else:
        with pytest.raises(openai.APIStatusError) as info:
            client(stack).chat.completions.create(model="qwen-plus", messages=messages, extra_headers=headers(fault))
        assert info.value.status_code == status
        assert info.value.response.headers["x-airlock-outcome"] == outcome


@pytest.mark.parametrize("fault,status,_outcome,outcome,error_event", FAULTS, ids=[f[0] for f in FAULTS])
def test_streamed_answer_outcome(stack, fault, status, _outcome, outcome, error_event):
    messages = [{"role": "user", "content": f"stream about {fault}"}]
    started = fault in ("output_filter_midstream", "disconnect_midstream", "malformed_json") or status == 200
    if not started:
        with pytest.raises(openai.APIStatusError) as info:
            client(stack).chat.completions.create(
                model="qwen-plus", messages=messages, stream=True, extra_headers=headers(fault))
        assert info.value.status_code == status
        assert info.value.response.headers["x-airlock-outcome"] == outcome
        return
    # The raw lines carry Airlock's trailing outcome comment, which SDK iteration skips.
    with client(stack).chat.completions.with_streaming_response.create(
            model="qwen-plus", messages=messages, stream=True, extra_headers=headers(fault)) as response:
        lines = list(response.iter_lines())
    assert f": x-airlock-outcome: {outcome}" in lines
    # And the SDK itself: a clean stream iterates to the end; a broken one raises on the error event.
    stream = client(stack).chat.completions.create(
        model="qwen-plus", messages=messages, stream=True, extra_headers=headers(fault))
    if error_event:
        with pytest.raises(openai.APIError):
            for _ in stream:
                pass
    else:
        text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
        assert text
