"""The same flow (decide, notify, wait for a reply, grant) on peer engines, one per process.

    python bench/peers.py dbos|spiff --events N --url DATABASE_URL

Prints one JSON line: events_per_s counts the trigger and the reply of each flow, as the
engine benchmark does.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from common import process_peak_rss_mb


def run_dbos(n: int, url: str) -> float:
    from dbos import DBOS

    @DBOS.step()
    def decide(i: int) -> dict:
        return {"eligible": i >= 0}

    @DBOS.step()
    def notify(i: int) -> bool:
        return True

    @DBOS.step()
    def grant(i: int) -> bool:
        return True

    @DBOS.workflow()
    def flow(i: int) -> bool:
        decide(i)
        notify(i)
        DBOS.recv("reply", timeout_seconds=600)
        return grant(i)

    DBOS(config={"name": "civic-bench", "system_database_url": url, "run_admin_server": False,
                 "log_level": "WARNING"})
    DBOS.launch()
    start = time.perf_counter()
    handles = [DBOS.start_workflow(flow, i) for i in range(n)]
    for h in handles:
        DBOS.send(h.get_workflow_id(), {"ok": True}, "reply")
    assert all(h.get_result() for h in handles)
    elapsed = time.perf_counter() - start
    DBOS.destroy()
    return elapsed


BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="defs"
    targetNamespace="https://civicmoments.org/bench">
  <bpmn:process id="flow" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="decide"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>eligible = n &gt;= 0</bpmn:script></bpmn:scriptTask>
    <bpmn:scriptTask id="notify"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:script>notified = True</bpmn:script></bpmn:scriptTask>
    <bpmn:userTask id="reply"><bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:scriptTask id="grant"><bpmn:incoming>f4</bpmn:incoming><bpmn:outgoing>f5</bpmn:outgoing>
      <bpmn:script>granted = True</bpmn:script></bpmn:scriptTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f5</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="decide"/>
    <bpmn:sequenceFlow id="f2" sourceRef="decide" targetRef="notify"/>
    <bpmn:sequenceFlow id="f3" sourceRef="notify" targetRef="reply"/>
    <bpmn:sequenceFlow id="f4" sourceRef="reply" targetRef="grant"/>
    <bpmn:sequenceFlow id="f5" sourceRef="grant" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"""


def run_spiff(n: int, url: str) -> float:
    """A BPMN server's loop: run each task, then save the serialized workflow in its own commit."""
    from SpiffWorkflow.bpmn.parser import BpmnParser
    from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
    from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
    from SpiffWorkflow.util.task import TaskState
    from sqlalchemy import Column, Integer, MetaData, Table, Text, create_engine, insert, select, update

    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    if engine.dialect.name == "sqlite":
        from sqlalchemy import event

        @event.listens_for(engine, "connect")
        def _wal(conn, _record):
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")

    meta = MetaData()
    table = Table("workflows", meta, Column("id", Integer, primary_key=True), Column("state", Text))
    meta.create_all(engine)
    parser = BpmnParser()
    parser.add_bpmn_str(BPMN.encode())
    spec = parser.get_spec("flow")
    serializer = BpmnWorkflowSerializer()

    def save(i: int, wf, new: bool = False) -> None:
        with engine.begin() as conn:
            state = serializer.serialize_json(wf)
            if new:
                conn.execute(insert(table).values(id=i, state=state))
            else:
                conn.execute(update(table).where(table.c.id == i).values(state=state))

    def run_engine_tasks(i: int, wf) -> None:
        while (task := wf.get_next_task(state=TaskState.READY, manual=False)) is not None:
            task.run()
            save(i, wf)

    start = time.perf_counter()
    for i in range(n):
        wf = BpmnWorkflow(spec)
        wf.get_next_task(state=TaskState.READY, manual=False).data["n"] = i
        save(i, wf, new=True)
        run_engine_tasks(i, wf)
    for i in range(n):
        with engine.connect() as conn:
            state = conn.execute(select(table.c.state).where(table.c.id == i)).scalar_one()
        wf = serializer.deserialize_json(state)
        task = wf.get_next_task(state=TaskState.READY, manual=True)
        task.data["ok"] = True
        task.run()
        save(i, wf)
        run_engine_tasks(i, wf)
        assert wf.is_completed()
    return time.perf_counter() - start


def own_peak_rss_mb() -> float:
    """This process's own peak (VmHWM). getrusage's ru_maxrss would not do: Linux carries it over
    from the parent through fork and exec, so every peer would report at least the benchmark's."""
    return process_peak_rss_mb(os.getpid())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("peer", choices=["dbos", "spiff"])
    parser.add_argument("--events", type=int, required=True, help="flows to run (each has 2 events)")
    parser.add_argument("--url", required=True)
    args = parser.parse_args()
    elapsed = (run_dbos if args.peer == "dbos" else run_spiff)(args.events, args.url)
    print(json.dumps({"flows": args.events, "seconds": round(elapsed, 3),
                      "events_per_s": round(2 * args.events / elapsed, 1), "peak_rss_mb": own_peak_rss_mb()}))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
