#pragma once
// The route table: every endpoint of docs/openapi.yaml and the handler method behind it.

#include "bsocial/api/handlers.hpp"
#include "bsocial/http/router.hpp"

namespace bsocial::api {

struct handlers {
    sessions_handler& sessions;
    users_handler& users;
    posts_handler& posts;
    ops_handler& ops;
};

void add_routes(http::router& router, handlers h);

}  // namespace bsocial::api
