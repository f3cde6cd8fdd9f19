"""``data.sites_from``: a recipe takes the sites of a corpus file, then its own (#24)."""

from __future__ import annotations

from pathlib import Path

import pytest

from forestgaps_engine.config import load_config
from forestgaps_engine.errors import ConfigError


def _corpus(tmp_path: Path) -> Path:
    corpus = tmp_path / "corpus.yaml"
    corpus.write_text(
        "data:\n  sites:\n"
        "    - {name: a, chm: a.tif, flat_ground: true}\n"
        "    - {name: b, chm: b.tif, flat_ground: true}\n",
        "utf-8",
    )
    return corpus


def test_recipe_gets_the_corpus_sites_before_its_own(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path)
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(
        f"data:\n  sites_from: ['{corpus}']\n  sites:\n    - {{name: c, chm: c.tif, "
        "flat_ground: true}\n  synthetic_sites: 2\n",
        "utf-8",
    )
    config = load_config(recipe)
    assert [site.name for site in config.data.sites] == ["a", "b", "c"]
    assert config.data.synthetic_sites == 2
    # The shipped recipe reads the real corpus the same way.
    shipped = load_config(Path(__file__).parents[2] / "configs" / "pretrained.yaml")
    corpus_names = {s.name for s in load_config("configs/real_sites.yaml").data.sites}
    assert corpus_names <= {site.name for site in shipped.data.sites}


@pytest.mark.parametrize(
    ("value", "message"),
    [("corpus.yaml", "must be a list of YAML files"), ("[missing.yaml]", "does not exist")],
)
def test_bad_sites_from_is_a_config_error(tmp_path: Path, value: str, message: str) -> None:
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(f"data:\n  sites_from: {value}\n", "utf-8")
    with pytest.raises(ConfigError, match=message):
        load_config(recipe)


def test_a_file_without_sites_is_named(tmp_path: Path) -> None:
    empty = tmp_path / "empty.yaml"
    empty.write_text("gaps: {thresholds_m: [5.0]}\n", "utf-8")
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(f"data:\n  sites_from: ['{empty}']\n", "utf-8")
    with pytest.raises(ConfigError, match="has no data.sites list"):
        load_config(recipe)
