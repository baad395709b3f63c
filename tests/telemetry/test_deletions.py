"""post.deleted and comment.deleted (issue 29): through Kafka and `bsocial telemetry`, q2 and
q3 stop counting deleted posts and comments, whichever of a creation and its deletion
reaches telemetry first (the deletion wins), and a redelivered creation does not bring a
deleted post back."""

from __future__ import annotations

import json

from bsocial_testkit.telemetry import (
    db_url_of, envelope, es_count, kcat_produce, q2_result, q3_result, run_query, wait_until)

DAY = "2026-02-10"
AUTHOR = 500
ENTITIES = "bsocial-events-entities"


def at(minute: int) -> str:
    return f"{DAY}T10:{minute:02d}:00.000Z"


def post_created(post: int, minute: int) -> dict:
    return envelope("post.created", at(minute), {
        "post_id": str(post), "user_id": str(AUTHOR), "username": "u500",
        "email": "u500@example.com", "content": f"post {post}", "created_at": at(minute)})


def post_deleted(post: int, minute: int) -> dict:
    return envelope("post.deleted", at(minute), {
        "post_id": str(post), "user_id": str(AUTHOR), "username": "u500",
        "deleted_at": at(minute)})


def comment_created(comment: int, post: int, minute: int) -> dict:
    return envelope("comment.created", at(minute), {
        "comment_id": str(comment), "post_id": str(post), "post_author_id": str(AUTHOR),
        "user_id": "501", "username": "u501", "email": "u501@example.com", "content": "hi",
        "created_at": at(minute)})


def comment_deleted(comment: int, post: int, minute: int) -> dict:
    return envelope("comment.deleted", at(minute), {
        "comment_id": str(comment), "post_id": str(post), "post_author_id": str(AUTHOR),
        "user_id": "501", "username": "u501", "deleted_at": at(minute)})


def produce(kafka: str, topic: str, events: list[dict]) -> None:
    by_key: dict[str, list[bytes]] = {}
    for e in events:
        by_key.setdefault(e["data"]["post_id"], []).append(json.dumps(e).encode())
    for key, payloads in by_key.items():
        kcat_produce(kafka, topic, key, payloads)


def test_deleted_posts_and_comments_are_not_counted_in_any_order(stack, server, make_telemetry):
    make_telemetry()
    # 9001: 3 comments. 9002: 5 comments, deleted, the deletion arrives BEFORE the creation.
    # 9003: 4 comments, 3 deleted (two deletions before their creation, one after).
    # 9004: no comment. 9005: 6 comments, deleted AFTER its creation.
    posts = {9001: 3, 9002: 5, 9003: 4, 9004: 0, 9005: 6}
    comments: dict[int, list[int]] = {}
    cid = 70000
    for post, n in posts.items():
        comments[post] = list(range(cid, cid + n))
        cid += n
    gone_3 = comments[9003][:3]

    # 1. deletions that overtake their creation
    produce(stack.kafka, "bsocial.posts", [post_deleted(9002, 50)])
    produce(stack.kafka, "bsocial.comments",
            [comment_deleted(c, 9003, 50) for c in gone_3[:2]])
    wait_until(lambda: es_count(stack.search, ENTITIES) == 3, 60, what="early deletions indexed")
    # 2. the creations
    produce(stack.kafka, "bsocial.posts",
            [post_created(p, i) for i, p in enumerate(posts)])
    produce(stack.kafka, "bsocial.comments",
            [comment_created(c, p, 20 + i) for p, cs in comments.items() for i, c in enumerate(cs)])
    total = len(posts) + sum(posts.values())
    wait_until(lambda: es_count(stack.search, ENTITIES) == total, 60, what="creations indexed")
    # 3. deletions after their creation, and post 9002's creation delivered once more
    produce(stack.kafka, "bsocial.posts", [post_deleted(9005, 55), post_created(9002, 1)])
    produce(stack.kafka, "bsocial.comments", [comment_deleted(gone_3[2], 9003, 55)])

    def deleted_count() -> int:
        return es_count(stack.search, ENTITIES, {"term": {"deleted": True}})
    wait_until(lambda: deleted_count() == 5, 60, what="late deletions indexed")
    wait_until(lambda: es_count(stack.search, "bsocial-events",
                                {"terms": {"type": ["post.deleted", "comment.deleted"]}}) == 5,
               60, what="deletion events in the events alias")

    db = db_url_of(server)
    q2 = q2_result(run_query(stack.search, "q2", "--from", DAY, "--to", DAY, db=db))
    # without deletions: 9005 (6), 9002 (5), 9003 (4), 9001 (3)
    assert q2 == {DAY: [("9001", 3), ("9003", 1)]}
    q3 = q3_result(run_query(stack.search, "q3", "--user-id", str(AUTHOR), db=db))
    # without deletions: best 9005 (6); worst 9004 (0)
    assert q3 == {"top_post": ("9001", 3), "worst_post": ("9004", 0)}
