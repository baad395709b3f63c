#pragma once
// The composable index templates (`PUT _index_template/...`) with explicit, strict
// mappings for the events index and the dead-letter index. Valid on Elasticsearch 7.10+,
// 8.x and OpenSearch 2.x. Why this layout: docs/telemetry.md.

#include <cstdint>
#include <string>
#include <vector>

namespace bsocial::telemetry {

class es_client;
struct elasticsearch_config;

/// Body of the events template: pattern `<index>-*` (the monthly indices `<index>-YYYY.MM`),
/// priority 500, alias `<index>`. The dead-letter and entities templates name their index
/// exactly, at priority 510, so they win over the events pattern.
std::string events_template_json(const std::string& index, int replicas, int refresh_ms = 500);
std::string entities_template_json(const std::string& index, int replicas, int refresh_ms = 500);
/// Login days (q1): pattern `<alias>-*` (monthly `<alias>-YYYY.MM`), priority 520, alias `<alias>`.
std::string logins_template_json(const std::string& alias, int replicas, int refresh_ms = 500);
std::string dead_letter_template_json(const std::string& index, int replicas, int refresh_ms = 500);

/// PUTs the three templates and creates, if missing, this month's events index (with it
/// the alias), the dead-letter and the entities index (so queries never hit a missing
/// index). Throws on any refusal; es_unreachable when Elasticsearch is down. Also sets the
/// refresh interval of indices that already exist (a dynamic setting).
void install_templates(es_client& es, const elasticsearch_config& config, int replicas,
                       int refresh_ms, std::int64_t now_ms);

/// Among `names`, the monthly events indices `<base>-YYYY.MM` whose whole month is older
/// than `retention_days` days at `now_ms` (none when retention_days <= 0). Pure.
std::vector<std::string> expired_indices(const std::vector<std::string>& names,
                                         const std::string& base, int retention_days,
                                         std::int64_t now_ms);

/// Deletes the expired monthly indices (expired_indices), of the events and of the login
/// days; returns their names.
std::vector<std::string> apply_retention(es_client& es, const elasticsearch_config& config,
                                         int retention_days, std::int64_t now_ms);

}  // namespace bsocial::telemetry
