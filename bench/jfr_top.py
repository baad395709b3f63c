#!/usr/bin/env python3
"""Sums up a Java Flight Recorder recording's CPU samples (jdk.ExecutionSample): where a JVM
(here the search engine, `telemetry_bench.py --jfr FILE`) spends its CPU.

  python3 bench/jfr_top.py FILE [--top 25] [--thread-kinds]

Prints, with the share of all samples:
  - by thread kind (the Elasticsearch pool in the thread name: write, refresh, merge, ...),
  - by stage of indexing (the mapping's document parser, the `_id` version lookup, Lucene's
    stored fields / postings / doc values / points, the translog, refresh, merge), each
    counted when it is anywhere on the sample's stack,
  - the top frames (self: the method running when sampled).
The samples are shares of the JVM's Java-thread CPU; µs per document = share × the engine's
CPU seconds (from /proc, printed by the bench) / documents.
Needs `jfr` (JDK 17) on PATH.
"""
from __future__ import annotations

import argparse
import collections
import json
import re
import subprocess

# Stages of indexing a document in Elasticsearch 8 / Lucene 9 (regex on the stack's frames,
# "class.method"); a sample counts in every stage on its stack (inclusive, so they overlap:
# the indented ones are parts of the one above them).
STAGES = [("bulk request parsing (HTTP)", r"BulkRequestParser|RestBulkAction"),
 ("DocumentParser.parseDocument (mapping)", r"DocumentParser\.parseDocument"),
 ("  ..walking the fields (parseObjectOrField)", r"DocumentParser\.(parseObjectOrField|parseObjectOrNested)"),
 ("  ..Keyword mapper", r"KeywordFieldMapper"),
 ("  ..Date mapper", r"DateFieldMapper"),
 ("  ..Number mapper", r"NumberFieldMapper"),
 ("  ..Boolean", r"BooleanFieldMapper"),
 ("  ..source (SourceFieldMapper)", r"SourceFieldMapper"),
 ("version lookup", r"InternalEngine\.(resolveDocVersion|getVersionFromMap)|VersionsAndSeqNoResolver"),
 ("  ..bloom filter (_id, read)", r"BloomFilterTerms"),
 ("IndexWriter.add/updateDocument(s)", r"IndexWriter\.(add|update|soft)"),
 ("  ..stored fields", r"StoredFieldsConsumer|StoredFieldsWriter"),
 ("  ..invert (postings)", r"IndexingChain\$PerField\.invert|TermsHashPerField"),
 ("  ..doc values", r"DocValuesWriter|IndexingChain\.indexDocValue"),
 ("  ..points", r"PointValuesWriter|IndexingChain\.indexPoint"),
 ("Translog.add", r"Translog\.add"),
 ("translog sync (fsync)", r"ensureSynced|Translog\.sync|FileChannelImpl\.force"),
 ("LiveVersionMap", r"LiveVersionMap"),
 ("refresh", r"ReferenceManager\.maybeRefresh|Engine.*refresh|InternalEngine\.refresh"),
 ("  ..writing the segment (DWPT flush, any thread)", r"DocumentsWriterPerThread\.flush"),
 ("merge", r"IndexWriter\.merge|SegmentMerger"),
 ("  ..bloom filter write", r"BloomFilterPostingsFormat\$FieldsWriter"),
 ("  ..postings merge", r"FieldsConsumer\.merge|PostingsWriter"),
 ("  ..stored merge", r"StoredFieldsWriter\.merge|StoredFields"),
 ("  ..docvalues merge", r"DocValuesConsumer\.merge"),
 ("search", r"SearchService|QueryPhase"),
]


def samples(path: str):
    """(thread name, [frames top first]) per jdk.ExecutionSample."""
    out = subprocess.run(["jfr", "print", "--json", "--stack-depth", "256", "--events", "jdk.ExecutionSample", path],
                         capture_output=True, text=True, check=True).stdout
    for ev in json.loads(out)["recording"]["events"]:
        v = ev["values"]
        thread = (v.get("sampledThread") or {}).get("javaName") or "?"
        frames = []
        for f in (v.get("stackTrace") or {}).get("frames", []):
            m = f["method"]
            frames.append(f'{m["type"]["name"]}.{m["name"]}')
        yield thread, frames


def thread_kind(name: str) -> str:
    m = re.search(r"\]\[([a-z_]+)\]", name)  # elasticsearch[node][write][T#1]
    if m:
        return m.group(1)
    return re.sub(r"[#-]?\d+$", "", name)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--top", type=int, default=25)
    args = ap.parse_args()
    kinds, selfs, stages = collections.Counter(), collections.Counter(), collections.Counter()
    n = 0
    for thread, frames in samples(args.file):
        n += 1
        kinds[thread_kind(thread)] += 1
        if frames:
            selfs[frames[0]] += 1
        stack = "\n".join(frames)
        for label, rx in STAGES:
            if re.search(rx, stack):
                stages[label] += 1
    if not n:
        print("no samples")
        return
    pct = lambda c: f"{100 * c / n:5.1f} %"  # noqa: E731
    print(f"samples={n} (Java threads only: the JIT compiler and GC threads are not sampled)")
    print("by thread kind:")
    for k, c in kinds.most_common(12):
        print(f"  {pct(c)}  {k}")
    print("by stage (inclusive: a sample counts in every stage on its stack):")
    for label, _ in STAGES:
        print(f"  {pct(stages[label])}  {label}")
    print(f"top {args.top} frames (self):")
    for k, c in selfs.most_common(args.top):
        print(f"  {pct(c)}  {k}")


if __name__ == "__main__":
    main()
