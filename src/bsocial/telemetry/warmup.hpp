#pragma once
// Start-up warm-up of the search engine (docs/telemetry.md, "Cold start"): before telemetry
// reads its first event, a few thousand throwaway documents shaped like ours are indexed
// with _bulk into a scratch index, searched, and the scratch index is deleted. A freshly
// started Elasticsearch/OpenSearch runs its indexing code interpreted until the JVM's JIT
// compiled it; measured on the local stack, its first _bulk requests of real events took
// several times longer than the same requests a minute later, and at 200 events/s the queue
// built up behind them. The warm-up pays that cost before the traffic, not during it.
//
// The scratch index <index>_warmup is outside every pattern of our templates (they are
// <index>-* and the exact names), so it is under no alias and no query sees it; it is made
// with explicit settings (one shard, no replica, no refresh) and deleted afterwards (also
// at the next start if a crash left it behind).

#include <cstdint>
#include <functional>
#include <string>

#include "bsocial/telemetry/config.hpp"
#include "bsocial/telemetry/es_client.hpp"

namespace bsocial::telemetry {

/// The scratch index of `config` (a sibling of the events alias, not under it).
std::string warmup_index(const elasticsearch_config& config);

struct warmup_result {
    int documents = 0;  ///< documents indexed (0: skipped, stopped or failed)
    int bulks = 0;
    std::int64_t first_bulk_ms = 0;  ///< the first request's time (a cold engine's)
    std::int64_t last_bulk_ms = 0;   ///< the last one's (a warm engine's)
    std::int64_t took_ms = 0;        ///< the whole warm-up, scratch index made and deleted
};

/// The body of PUT /<scratch index>: its settings and strict mappings.
std::string warmup_index_json();

/// The NDJSON of `count` throwaway documents numbered from `first` for `index`.
std::string warmup_bulk_body(const std::string& index, int first, int count);

/// Indexes `documents` throwaway documents in _bulk requests of `batch` into
/// warmup_index(config), searches them, deletes the index. Never throws for the engine's
/// answers or an outage (the warm-up is an optimisation: it logs and gives up);
/// `stopping` is asked between requests.
warmup_result warm_up(es_client& es, const elasticsearch_config& config, int documents, int batch,
                      const std::function<bool()>& stopping);

}  // namespace bsocial::telemetry
