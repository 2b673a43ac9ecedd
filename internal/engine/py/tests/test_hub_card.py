"""The dataset card's list of the models trained on it."""

from vulntune_engine.hub import MODELS_HEADING, add_models

E = "https://hub.example"
CARD = "---\nlicense: apache-2.0\n---\n\n# demo\n\nSome text.\n"


def test_adds_section_once():
    one = add_models(CARD, ["acme/m1"], E)
    assert one.startswith(CARD.rstrip("\n"))
    assert one.endswith(f"\n\n{MODELS_HEADING}\n\n- [acme/m1]({E}/acme/m1)\n")
    assert add_models(one, ["acme/m1"], E) == one


def test_appends_keeps_earlier_models_and_following_sections():
    one = add_models(CARD, ["acme/m1"], E) + "\n## Licence\n\nApache-2.0.\n"
    two = add_models(one, ["acme/m2", "acme/m1"], E)
    lines = two.split("\n")
    i = lines.index(MODELS_HEADING)
    assert lines[i + 1:i + 4] == ["", f"- [acme/m1]({E}/acme/m1)", f"- [acme/m2]({E}/acme/m2)"]
    assert two.endswith("## Licence\n\nApache-2.0.\n")
    assert two.count("acme/m1]") == 1


def test_empty_section():
    card = CARD + f"\n{MODELS_HEADING}\n"
    out = add_models(card, ["acme/m1"], E)
    assert out == CARD + f"\n{MODELS_HEADING}\n\n- [acme/m1]({E}/acme/m1)\n"


def test_listed_models():
    from vulntune_engine.hub import listed_models

    card = add_models(add_models(CARD, ["acme/m1"], E), ["acme/m2"], E)
    assert listed_models(card) == ["acme/m1", "acme/m2"]
    assert listed_models(CARD) == []
