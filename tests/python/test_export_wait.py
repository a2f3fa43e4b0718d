"""export's wait in a real IPython kernel: the reply arrives as a comm message while the cell waits.

The test plays the frontend over jupyter_client: it answers the kernel's comm message while the cell
that waits for it is still running, and queues a second cell behind it, as Run All does. Without the
reply routed away from the blocked main thread, the wait would run into its timeout.
"""

from __future__ import annotations

from kernel_helpers import iopub_until

WAITING_CELL = """
import comm
from intershap_widget.export import send_routed, wait_for
replies = []
channel = comm.create_comm(target_name="intershap-test", data={"hello": 1})
channel.on_msg(lambda msg: replies.append(msg["content"]["data"]["content"]))
send_routed(channel, lambda: channel.send({"method": "custom", "content": {"kind": "export", "id": "r1"}}))
print("waited:", wait_for(lambda: bool(replies), 60, channel, "r1"), replies)
"""


def _stream_text(messages):
    return "".join(m["content"]["text"] for m in messages if m["msg_type"] == "stream")


def test_a_waiting_cell_gets_the_browser_reply_and_the_next_cell_runs_after_it(kernel):
    first = kernel.execute(WAITING_CELL)
    # Queued behind the waiting cell, as Run All queues every cell at once.
    second = kernel.execute("print('second cell ran')")
    opened, seen = iopub_until(kernel, lambda m: m["msg_type"] == "comm_open")
    comm_id = opened["content"]["comm_id"]
    _, more = iopub_until(kernel, lambda m: m["msg_type"] == "comm_msg")
    seen += more
    # The cell is still running: nothing of the second cell has happened.
    assert "second cell ran" not in _stream_text(seen)
    # An ipywidgets custom message, as the browser's reply is.
    data = {"method": "custom", "content": {"kind": "exported", "id": "r1"}}
    reply = kernel.session.msg("comm_msg", {"comm_id": comm_id, "data": data})
    kernel.shell_channel.send(reply)
    _, rest = iopub_until(kernel, lambda m: "second cell ran" in m["content"].get("text", ""))
    text = _stream_text(seen + rest)
    assert "waited: True [{'kind': 'exported', 'id': 'r1'}]" in text
    assert text.index("waited: True") < text.index("second cell ran")
    for msg_id in (first, second):
        assert kernel.get_shell_msg(timeout=30)["parent_header"]["msg_id"] == msg_id


def test_a_reply_that_never_comes_ends_the_wait_at_the_timeout(kernel):
    kernel.execute(
        "import time\nfrom intershap_widget.export import wait_for\n"
        "t0 = time.monotonic()\nok = wait_for(lambda: False, timeout=0.5)\n"
        "print('timed out:', not ok, round(time.monotonic() - t0, 1))"
    )
    msg, _ = iopub_until(kernel, lambda m: "timed out:" in m["content"].get("text", ""))
    assert "timed out: True" in msg["content"]["text"]


def test_outside_a_kernel_the_wait_checks_once():
    from intershap_widget.export import wait_for

    calls = []
    assert wait_for(lambda: calls.append(1) or False, timeout=5) is False
    assert len(calls) == 1
