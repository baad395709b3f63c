#!/usr/bin/env python3
"""Sums up a Java Flight Recorder recording's CPU samples (jdk.ExecutionSample): where a JVM
(here the search engine, `telemetry_bench.py --jfr FILE`) spends its CPU.

  python3 bench/jfr_top.py FILE [--top 25] [--thread-kinds]

Prints, with the share of all samples:
  - by thread kind (the Elasticsearch pool in the thread name: write, refresh, merge, ...),
  - the top frames (self: the method running when sampled),
  - the top "component" of each sample's stack (the first frame, from the top, in a
    package we name: Lucene postings/terms/stored fields/doc values/points, the version
    lookup of `create`, the translog, JSON parsing, mapping, TLS/HTTP), which answers "what
    part of indexing a document" better than single frames,
  - the same components inclusively (anywhere on the stack).
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

# (label, regex on "class.method") checked from the top of the stack down; the first frame
# that matches names the sample's component.
COMPONENTS = [
    ("version lookup (_id, create)", r"(PerThreadIDVersionAndSeqNoLookup|VersionsAndSeqNoResolver|"
                                      r"InternalEngine\.(resolveDocVersion|planIndexingAsPrimary)|LiveVersionMap)"),
    ("translog write/fsync", r"(index\.translog\.|FileChannelImpl\.force|FileDispatcherImpl\.force)"),
    ("refresh (flush segment)", r"(DocumentsWriterPerThread\.flush|DocumentsWriter\.flush|"
                                r"IndexWriter\.getReader|StandardDirectoryReader\.open|"
                                r"DirectoryReader\.openIfChanged|ReferenceManager\.maybeRefresh)"),
    ("merge", r"(IndexWriter\.merge|SegmentMerger|ConcurrentMergeScheduler|MergeThread)"),
    ("lucene: stored fields (_source)", r"(StoredFields|StoredFieldsConsumer|Lucene90CompressingStored|"
                                         r"LZ4|Deflate|compressing\.)"),
    ("lucene: terms/postings (inverted index)", r"(TermsHashPerField|FreqProxTermsWriter|"
                                                  r"BytesRefHash|TermsHash|DefaultIndexingChain\.invert|"
                                                  r"IndexingChain\$PerField\.invert)"),
    ("lucene: doc values", r"(DocValuesWriter|SortedSetDocValuesWriter|SortedDocValuesWriter|"
                           r"NumericDocValuesWriter|DocValuesConsumer)"),
    ("lucene: points (dates, numbers)", r"(PointValuesWriter|BKDWriter|Points)"),
    ("lucene: other indexing", r"org\.apache\.lucene\.index\."),
    ("mapping / parsing the document", r"(index\.mapper\.|DocumentParser|xcontent|jackson)"),
    ("bulk / write action", r"(action\.bulk\.|TransportShardBulkAction|TransportWriteAction)"),
    ("HTTP / netty / TLS", r"(io\.netty\.|sun\.security\.ssl|http\.)"),
    ("search", r"(search\.|lucene\.search\.)"),
    ("GC / JVM internals", r"(jdk\.internal|java\.lang\.ref)"),
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
    kinds, selfs, comps = collections.Counter(), collections.Counter(), collections.Counter()
    incl = collections.Counter()  # samples with the component anywhere on the stack
    n = 0
    for thread, frames in samples(args.file):
        n += 1
        kinds[thread_kind(thread)] += 1
        if frames:
            selfs[frames[0]] += 1
        comp = "other"
        for fr in frames:
            for label, rx in COMPONENTS:
                if re.search(rx, fr):
                    comp = label
                    break
            if comp != "other":
                break
        comps[comp] += 1
        for label, rx in COMPONENTS:
            if any(re.search(rx, fr) for fr in frames):
                incl[label] += 1
    if not n:
        print("no samples")
        return
    pct = lambda c: f"{100 * c / n:5.1f} %"  # noqa: E731
    print(f"samples={n}")
    print("by thread kind:")
    for k, c in kinds.most_common(12):
        print(f"  {pct(c)}  {k}")
    print("by component (first matching frame from the top of the stack):")
    for k, c in comps.most_common():
        print(f"  {pct(c)}  {k}")
    print("inclusive (the component anywhere on the stack; overlapping):")
    for k, c in incl.most_common():
        print(f"  {pct(c)}  {k}")
    print(f"top {args.top} frames (self):")
    for k, c in selfs.most_common(args.top):
        print(f"  {pct(c)}  {k}")


if __name__ == "__main__":
    main()
