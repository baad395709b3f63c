#pragma once
// The composable index templates (`PUT _index_template/...`) with explicit, strict
// mappings for the events index and the dead-letter index. Valid on Elasticsearch 7.10+,
// 8.x and OpenSearch 2.x. Why this layout: docs/telemetry.md.

#include <string>

namespace bsocial::telemetry {

class es_client;
struct elasticsearch_config;

/// Body of the template for exactly the index `index` (no wildcard: the dead-letter index
/// `<index>-deadletter` must not match the events template).
std::string events_template_json(const std::string& index, int replicas, int refresh_ms = 500);
std::string entities_template_json(const std::string& index, int replicas, int refresh_ms = 500);
std::string dead_letter_template_json(const std::string& index, int replicas, int refresh_ms = 500);

/// PUTs both templates and creates both indices if missing (so queries never hit a
/// missing index). Throws on any refusal; es_unreachable when Elasticsearch is down.
/// Also sets the refresh interval of indices that already exist (a dynamic setting).
void install_templates(es_client& es, const elasticsearch_config& config, int replicas,
                       int refresh_ms = 500);

}  // namespace bsocial::telemetry
