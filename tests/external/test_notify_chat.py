"""Belay's Slack, Microsoft Teams and Discord messages, checked against each vendor's documented format. None of the
three has a server one can run, so the channels point at an HTTP receiver in this process and every body it gets
is judged by a checker written from the vendor's reference:

- Slack incoming webhooks (api.slack.com/messaging/webhooks, Block Kit reference): a `text` string (the fallback
  shown in notifications, and all that Mattermost and Rocket.Chat render), `blocks` of known types with the fields
  each type allows, text objects of type plain_text or mrkdwn, and Slack's length limits;
- Discord Execute Webhook (discord.com/developers/docs/resources/webhook): `content` of at most 2000 characters
  and/or at most 10 `embeds`, each within the embed limits (title 256, description 4096, 25 fields of name 256
  and value 1024, 6000 characters in all, an integer color, a URL);
- Teams Workflows webhooks: `{"type": "message", "attachments": [{"contentType":
  "application/vnd.microsoft.card.adaptive", "content": <card>}]}`, the card validated with jsonschema against
  Microsoft's own Adaptive Card 1.4 schema (fixtures/adaptive-card.json, from microsoft/AdaptiveCards).

Each checker is first proven on the vendor's own example (fixtures/, see fixtures/README.md) and on broken
variants of it, so a checker that accepted anything would fail here rather than pass Belay. Then each message
Belay sends must name the incident's title, severity, status, components, latest update and war-room link.

    BELAY_BIN=.build/debug/belay python3 -m pytest -q tests/external/test_notify_chat.py
"""
import copy
import json
import os
import re

import jsonschema
import pytest

from notify_support import create_channel, create_component, declare, post_update, war_room

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as f:
        return json.load(f)


def strings(value):
    """Every string anywhere in a JSON value, keys excluded."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return []


# ---------------------------------------------------------------------------------------------- Slack

SLACK_BLOCK_KEYS = {
    "section": {"type", "block_id", "text", "fields", "accessory", "expand"},
    "context": {"type", "block_id", "elements"},
    "actions": {"type", "block_id", "elements"},
    "divider": {"type", "block_id"},
    "header": {"type", "block_id", "text"},
    "image": {"type", "block_id", "image_url", "slack_file", "alt_text", "title"},
    "rich_text": {"type", "block_id", "elements"},
    "markdown": {"type", "block_id", "text"},
}
SLACK_TOP_KEYS = {"text", "blocks", "attachments", "thread_ts", "mrkdwn", "username", "icon_emoji", "icon_url",
                  "channel", "unfurl_links", "unfurl_media", "link_names", "parse", "reply_broadcast", "metadata"}


def slack_text_object(value, where, problems, max_length=3000, plain_only=False):
    if not isinstance(value, dict):
        problems.append(f"{where}: a text object is an object, got {value!r}")
        return
    kind = value.get("type")
    allowed = {"plain_text"} if plain_only else {"plain_text", "mrkdwn"}
    if kind not in allowed:
        problems.append(f"{where}: text object type must be {sorted(allowed)}, got {kind!r}")
    extra = set(value) - {"type", "text", "emoji", "verbatim"}
    if extra:
        problems.append(f"{where}: text object has unknown fields {sorted(extra)}")
    if "emoji" in value and kind != "plain_text":
        problems.append(f"{where}: emoji is only for plain_text")
    if "verbatim" in value and kind != "mrkdwn":
        problems.append(f"{where}: verbatim is only for mrkdwn")
    text = value.get("text")
    if not isinstance(text, str) or not text:
        problems.append(f"{where}: text object needs a non-empty text string, got {text!r}")
    elif len(text) > max_length:
        problems.append(f"{where}: text is {len(text)} characters, more than {max_length}")


def slack_element(value, where, problems, interactive):
    if not isinstance(value, dict):
        problems.append(f"{where}: an element is an object")
        return
    kind = value.get("type")
    if kind == "image":
        if set(value) - {"type", "image_url", "slack_file", "alt_text"}:
            problems.append(f"{where}: image element has unknown fields {sorted(set(value) - {'type', 'image_url', 'slack_file', 'alt_text'})}")
        if not isinstance(value.get("alt_text"), str) or not (value.get("image_url") or value.get("slack_file")):
            problems.append(f"{where}: image element needs image_url (or slack_file) and alt_text")
    elif kind == "button" and interactive:
        extra = set(value) - {"type", "text", "action_id", "url", "value", "style", "confirm", "accessibility_label"}
        if extra:
            problems.append(f"{where}: button has unknown fields {sorted(extra)}")
        slack_text_object(value.get("text"), where + ".text", problems, 75, plain_only=True)
        if "url" in value and (not isinstance(value["url"], str) or len(value["url"]) > 3000):
            problems.append(f"{where}: button url must be a string of at most 3000 characters")
        if "action_id" in value and (not isinstance(value["action_id"], str) or len(value["action_id"]) > 255):
            problems.append(f"{where}: action_id must be a string of at most 255 characters")
        if "style" in value and value["style"] not in ("primary", "danger"):
            problems.append(f"{where}: button style is primary or danger, got {value['style']!r}")
    elif kind in ("plain_text", "mrkdwn") and not interactive:
        slack_text_object(value, where, problems)
    elif interactive and kind in ("checkboxes", "datepicker", "datetimepicker", "overflow", "radio_buttons", "static_select",
                                  "external_select", "users_select", "conversations_select", "channels_select", "timepicker",
                                  "workflow_button", "multi_static_select", "rich_text_input", "plain_text_input"):
        pass  # interactive elements a notification has no use for; their shapes are not checked here
    else:
        problems.append(f"{where}: element type {kind!r} is not allowed here")


def slack_problems(body):
    """What is wrong with an incoming-webhook body by Slack's reference (empty when nothing is)."""
    problems = []
    if not isinstance(body, dict):
        return [f"the body is a JSON object, got {type(body).__name__}"]
    extra = set(body) - SLACK_TOP_KEYS
    if extra:
        problems.append(f"unknown top-level fields {sorted(extra)}")
    if not isinstance(body.get("text"), str) or not body["text"].strip():
        problems.append("`text` must be a non-empty string (the notification fallback, and what Mattermost shows)")
    elif len(body["text"]) > 40000:
        problems.append("`text` is longer than 40000 characters")
    blocks = body.get("blocks")
    if not isinstance(blocks, list) or not blocks:
        problems.append("`blocks` must be a non-empty list")
        return problems
    if len(blocks) > 50:
        problems.append(f"{len(blocks)} blocks, more than Slack's 50")
    for index, block in enumerate(blocks):
        where = f"blocks[{index}]"
        if not isinstance(block, dict):
            problems.append(f"{where}: a block is an object")
            continue
        kind = block.get("type")
        if kind not in SLACK_BLOCK_KEYS:
            problems.append(f"{where}: unknown block type {kind!r}")
            continue
        extra = set(block) - SLACK_BLOCK_KEYS[kind]
        if extra:
            problems.append(f"{where}: {kind} block has unknown fields {sorted(extra)}")
        if "block_id" in block and (not isinstance(block["block_id"], str) or len(block["block_id"]) > 255):
            problems.append(f"{where}: block_id must be a string of at most 255 characters")
        if kind == "section":
            if "text" not in block and "fields" not in block:
                problems.append(f"{where}: a section needs text or fields")
            if "text" in block:
                slack_text_object(block["text"], where + ".text", problems, 3000)
            if "fields" in block:
                fields = block["fields"]
                if not isinstance(fields, list) or not 1 <= len(fields) <= 10:
                    problems.append(f"{where}: fields is a list of 1 to 10 text objects")
                else:
                    for n, field in enumerate(fields):
                        slack_text_object(field, f"{where}.fields[{n}]", problems, 2000)
            if "accessory" in block:
                slack_element(block["accessory"], where + ".accessory", problems, interactive=True)
        elif kind == "header":
            slack_text_object(block.get("text"), where + ".text", problems, 150, plain_only=True)
        elif kind in ("context", "actions"):
            elements = block.get("elements")
            limit = 10 if kind == "context" else 25
            if not isinstance(elements, list) or not 1 <= len(elements) <= limit:
                problems.append(f"{where}: elements is a list of 1 to {limit}")
            else:
                for n, element in enumerate(elements):
                    slack_element(element, f"{where}.elements[{n}]", problems, interactive=kind == "actions")
        elif kind == "image":
            if not isinstance(block.get("alt_text"), str) or not (block.get("image_url") or block.get("slack_file")):
                problems.append(f"{where}: an image block needs image_url (or slack_file) and alt_text")
        elif kind == "markdown":
            if not isinstance(block.get("text"), str) or len(block["text"]) > 12000:
                problems.append(f"{where}: a markdown block has a text string of at most 12000 characters")
    return problems


# ---------------------------------------------------------------------------------------------- Discord

DISCORD_TOP_KEYS = {"content", "username", "avatar_url", "tts", "embeds", "allowed_mentions", "components", "files",
                    "payload_json", "attachments", "flags", "thread_name", "applied_tags", "poll"}
DISCORD_EMBED_KEYS = {"title", "type", "description", "url", "timestamp", "color", "footer", "image", "thumbnail", "video",
                      "provider", "author", "fields"}
ISO8601 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})")


def discord_problems(body):
    problems = []
    if not isinstance(body, dict):
        return [f"the body is a JSON object, got {type(body).__name__}"]
    extra = set(body) - DISCORD_TOP_KEYS
    if extra:
        problems.append(f"unknown top-level fields {sorted(extra)}")
    content, embeds = body.get("content"), body.get("embeds")
    if not content and not embeds:
        problems.append("one of content or embeds is required")
    if content is not None and (not isinstance(content, str) or len(content) > 2000):
        problems.append(f"content is a string of at most 2000 characters, got {len(content) if isinstance(content, str) else content!r}")
    if "username" in body and (not isinstance(body["username"], str) or not 1 <= len(body["username"]) <= 80):
        problems.append("username is 1 to 80 characters")
    if embeds is None:
        return problems
    if not isinstance(embeds, list) or len(embeds) > 10:
        problems.append("embeds is a list of at most 10")
        return problems
    total = 0
    for index, embed in enumerate(embeds):
        where = f"embeds[{index}]"
        if not isinstance(embed, dict):
            problems.append(f"{where}: an embed is an object")
            continue
        extra = set(embed) - DISCORD_EMBED_KEYS
        if extra:
            problems.append(f"{where}: unknown fields {sorted(extra)}")
        for key, limit in (("title", 256), ("description", 4096)):
            if key in embed:
                if not isinstance(embed[key], str) or len(embed[key]) > limit:
                    problems.append(f"{where}.{key} is a string of at most {limit} characters")
                else:
                    total += len(embed[key])
        if "url" in embed and not (isinstance(embed["url"], str) and re.match(r"https?://", embed["url"])):
            problems.append(f"{where}.url is an http(s) URL, got {embed['url']!r}")
        if "color" in embed and not (isinstance(embed["color"], int) and not isinstance(embed["color"], bool) and 0 <= embed["color"] <= 0xFFFFFF):
            problems.append(f"{where}.color is an integer from 0 to 0xFFFFFF, got {embed['color']!r}")
        if "timestamp" in embed and not (isinstance(embed["timestamp"], str) and ISO8601.fullmatch(embed["timestamp"])):
            problems.append(f"{where}.timestamp is ISO 8601, got {embed['timestamp']!r}")
        fields = embed.get("fields", [])
        if not isinstance(fields, list) or len(fields) > 25:
            problems.append(f"{where}.fields is a list of at most 25")
            fields = []
        for n, field in enumerate(fields):
            if not isinstance(field, dict) or set(field) - {"name", "value", "inline"}:
                problems.append(f"{where}.fields[{n}] has only name, value and inline")
                continue
            for key, limit in (("name", 256), ("value", 1024)):
                text = field.get(key)
                if not isinstance(text, str) or not 1 <= len(text) <= limit:
                    problems.append(f"{where}.fields[{n}].{key} is 1 to {limit} characters, got {text!r}")
                else:
                    total += len(text)
            if "inline" in field and not isinstance(field["inline"], bool):
                problems.append(f"{where}.fields[{n}].inline is a boolean")
        footer = embed.get("footer")
        if footer is not None:
            if not isinstance(footer, dict) or not isinstance(footer.get("text"), str) or len(footer["text"]) > 2048:
                problems.append(f"{where}.footer has a text of at most 2048 characters")
            else:
                total += len(footer["text"])
        author = embed.get("author")
        if author is not None:
            if not isinstance(author, dict) or not isinstance(author.get("name"), str) or len(author["name"]) > 256:
                problems.append(f"{where}.author has a name of at most 256 characters")
            else:
                total += len(author["name"])
    if total > 6000:
        problems.append(f"the embeds hold {total} characters, more than Discord's 6000")
    return problems


# ---------------------------------------------------------------------------------------------- Teams

ADAPTIVE_CARD = jsonschema.Draft6Validator(fixture("adaptive-card.json"))


def teams_problems(body):
    problems = []
    if not isinstance(body, dict):
        return [f"the body is a JSON object, got {type(body).__name__}"]
    if body.get("type") != "message":
        problems.append(f"type must be \"message\", got {body.get('type')!r}")
    attachments = body.get("attachments")
    if not isinstance(attachments, list) or not attachments:
        return problems + ["attachments must be a non-empty list"]
    for index, attachment in enumerate(attachments):
        where = f"attachments[{index}]"
        if not isinstance(attachment, dict):
            problems.append(f"{where}: an attachment is an object")
            continue
        if attachment.get("contentType") != "application/vnd.microsoft.card.adaptive":
            problems.append(f"{where}.contentType must be application/vnd.microsoft.card.adaptive, got {attachment.get('contentType')!r}")
        if attachment.get("contentUrl") is not None and not isinstance(attachment["contentUrl"], str):
            problems.append(f"{where}.contentUrl is null or a string")
        card = attachment.get("content")
        if not isinstance(card, dict):
            problems.append(f"{where}.content must be the Adaptive Card object")
            continue
        if card.get("type") != "AdaptiveCard" or not isinstance(card.get("version"), str):
            problems.append(f"{where}.content needs type AdaptiveCard and a version (required on a top-level card)")
        for error in sorted(ADAPTIVE_CARD.iter_errors(card), key=lambda e: list(e.absolute_path)):
            problems.append(f"{where}.content/{'/'.join(map(str, error.absolute_path))}: {error.message[:300]}")
    if len(json.dumps(body).encode()) > 28 * 1024:
        problems.append("the message is over the 28 KB Teams accepts")
    return problems


# ---------------------------------------------------------------------------------------------- the checkers, on the vendors' examples

def test_the_checkers_accept_the_vendors_examples():
    assert slack_problems(fixture("slack-incoming-webhook-example.json")) == []
    assert discord_problems(fixture("discord-execute-webhook-example.json")) == []
    assert teams_problems(fixture("teams-workflows-webhook-example.json")) == []


def broken(name, change):
    body = copy.deepcopy(fixture(name))
    change(body)
    return body


@pytest.mark.parametrize("checker, body", [
    (slack_problems, broken("slack-incoming-webhook-example.json", lambda b: b.pop("text"))),
    (slack_problems, broken("slack-incoming-webhook-example.json", lambda b: b["blocks"][0].update(type="sectoin"))),
    (slack_problems, broken("slack-incoming-webhook-example.json", lambda b: b["blocks"][0]["text"].update(type="markdown"))),
    (slack_problems, broken("slack-incoming-webhook-example.json", lambda b: b["blocks"][0].update(color="#ff0000"))),
    (slack_problems, broken("slack-incoming-webhook-example.json", lambda b: b["blocks"][2].update(fields=[{"type": "mrkdwn", "text": "x"}] * 11))),
    (discord_problems, broken("discord-execute-webhook-example.json", lambda b: b.update(content="x" * 2001))),
    (discord_problems, broken("discord-execute-webhook-example.json", lambda b: b["embeds"][0].update(title="x" * 257))),
    (discord_problems, broken("discord-execute-webhook-example.json", lambda b: b["embeds"][0].update(color="#ff0000"))),
    (discord_problems, broken("discord-execute-webhook-example.json", lambda b: b["embeds"][0].update(fields=[{"name": "n", "value": "v" * 1025}]))),
    (discord_problems, broken("discord-execute-webhook-example.json", lambda b: b.update(embeds=b["embeds"] * 11))),
    (teams_problems, broken("teams-workflows-webhook-example.json", lambda b: b.update(type="card"))),
    (teams_problems, broken("teams-workflows-webhook-example.json", lambda b: b["attachments"][0].update(contentType="application/json"))),
    (teams_problems, broken("teams-workflows-webhook-example.json", lambda b: b["attachments"][0]["content"]["body"][0].pop("text"))),
    (teams_problems, broken("teams-workflows-webhook-example.json", lambda b: b["attachments"][0]["content"]["body"][0].update(type="Paragraph"))),
    (teams_problems, broken("teams-workflows-webhook-example.json", lambda b: b["attachments"][0]["content"]["body"][0].update(colour="good"))),
])
def test_the_checkers_reject_broken_examples(checker, body):
    assert checker(body), f"{checker.__name__} should find something wrong with {json.dumps(body)[:400]}"


# ---------------------------------------------------------------------------------------------- Belay's messages

KINDS = {"slack": slack_problems, "teams": teams_problems, "discord": discord_problems}


def chat_channels(belay, receiver):
    for kind in KINDS:
        create_channel(belay, name=f"{kind} room", kind=kind, url=receiver.url_for(f"/{kind}"), allowedNetworks=["127.0.0.1/32"])


def missing(text, incident_id, status, latest):
    """What of the incident a message's text leaves out."""
    lowered = text.lower()
    wanted = {"title": "Checkout errors", "severity": "sev2", "status": status, "component Checkout": "Checkout",
              "component Payments": "Payments", "latest update": latest, "war-room link": war_room(incident_id)}
    return [what for what, value in wanted.items() if value.lower() not in lowered]


@pytest.fixture
def announced(belay, receiver):
    """An incident on two components, declared and then updated, with one channel of each chat kind; answers
    (incident, {kind: [declared body, updated body]})."""
    create_component(belay, "checkout", "Checkout")
    create_component(belay, "payments", "Payments")
    chat_channels(belay, receiver)
    incident = declare(belay, "Checkout errors", components=(("checkout", "major_outage"), ("payments", "partial_outage")),
                       message="Customers see errors at checkout.")
    for kind in KINDS:
        receiver.wait_count(1, f"/{kind}", timeout=30)
    post_update(belay, incident["id"], "A bad deploy of the payments service; rolling back.", status="identified")
    bodies = {kind: [r.json() for r in receiver.wait_count(2, f"/{kind}", timeout=30)] for kind in KINDS}
    return incident, bodies


@pytest.mark.parametrize("kind", list(KINDS))
def test_each_message_has_the_vendors_shape(announced, kind):
    incident, bodies = announced
    for body in bodies[kind]:
        assert KINDS[kind](body) == [], f"{kind} message breaks the vendor's format: {KINDS[kind](body)}\n{json.dumps(body, indent=1)}"
    if kind == "teams":
        for body in bodies[kind]:
            assert body["attachments"][0]["content"]["version"] == "1.4", "docs/notifications.md: an Adaptive Card 1.4"
    if kind == "discord":
        for body in bodies[kind]:
            assert isinstance(body.get("content"), str) and body["content"], "docs/notifications.md: content and one embed"
            assert len(body.get("embeds", [])) == 1, "docs/notifications.md: content and one embed"


@pytest.mark.parametrize("kind", list(KINDS))
def test_each_message_says_what_happened(announced, kind):
    incident, bodies = announced
    declared, updated = bodies[kind]
    for body, status, latest in ((declared, "investigating", "Customers see errors at checkout."),
                                 (updated, "identified", "A bad deploy of the payments service; rolling back.")):
        text = "\n".join(strings(body))
        assert missing(text, incident["id"], status, latest) == [], \
            f"{kind} message lacks {missing(text, incident['id'], status, latest)}:\n{json.dumps(body, indent=1)}"


def test_the_slack_text_alone_says_what_happened(announced):
    """Mattermost and Rocket.Chat (which the slack kind is for too) render `text`, not Block Kit, and Slack shows
    only `text` in notifications: it must carry the whole message on its own."""
    incident, bodies = announced
    declared, updated = bodies["slack"]
    assert missing(declared["text"], incident["id"], "investigating", "Customers see errors at checkout.") == [], declared["text"]
    assert missing(updated["text"], incident["id"], "identified", "A bad deploy of the payments service; rolling back.") == [], updated["text"]
