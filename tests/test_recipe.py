"""Recipes are refused before any work starts, with the key path and the reason."""

from pathlib import Path

import pytest
from conftest import DEFAULT_RECIPE, write_recipe

from bigcode_release.data.pipeline import check_recipe_against_tables
from bigcode_release.errors import RecipeError
from bigcode_release.recipe import load_recipe


def problems_of(path: Path) -> dict[str, str]:
    with pytest.raises(RecipeError) as info:
        recipe = load_recipe(path)
        check_recipe_against_tables(recipe, str(path))
    return dict(info.value.problems)


def test_default_recipe_is_valid():
    recipe = load_recipe(DEFAULT_RECIPE)
    check_recipe_against_tables(recipe, str(DEFAULT_RECIPE))
    assert recipe.source.kind == "installed"
    assert recipe.version == "v1.0"
    assert len(recipe.hash()) == 64


def test_typo_in_a_key_names_the_key_and_suggests_the_fix(tmp_path):
    path = write_recipe(tmp_path, {"qualty": {"max_file_bytes": 10}})
    problems = problems_of(path)
    assert problems == {"qualty": "unknown key (did you mean 'quality'?)"}


def test_nested_typo_gives_the_full_key_path(tmp_path):
    path = write_recipe(tmp_path, {"quality": {"max_file_byte": 10}})
    assert problems_of(path) == {"quality.max_file_byte": "unknown key (did you mean 'max_file_bytes'?)"}


def test_wrong_type_and_impossible_values_are_each_reported(tmp_path):
    path = write_recipe(tmp_path, {"executor": {"tasks": "many", "workers": 0}, "version": "1.0"})
    problems = problems_of(path)
    assert set(problems) == {"executor.tasks", "executor.workers", "version"}
    assert "integer" in problems["executor.tasks"]
    assert "greater than or equal to 1" in problems["executor.workers"]
    assert "'1.0'" in problems["version"]


def test_min_size_above_max_size_is_refused(tmp_path):
    path = write_recipe(tmp_path, {"quality": {"min_file_bytes": 100, "max_file_bytes": 10}})
    assert "larger than max_file_bytes" in problems_of(path)["quality"]


def test_missing_paths_are_refused(tmp_path):
    path = write_recipe(
        tmp_path, {"source": {"kind": "folder", "path": "no/such/folder"}, "optout": {"list": "missing.jsonl"}}
    )
    problems = problems_of(path)
    assert "folder does not exist" in problems["source.path"]
    assert "file does not exist" in problems["optout.list"]


def test_unknown_source_kind_is_refused(tmp_path):
    path = write_recipe(tmp_path, {"source": {"kind": "gitlab"}})
    assert "source" in " ".join(problems_of(path))


def test_unknown_language_and_bad_spdx_id_are_refused_with_suggestions(tmp_path):
    path = write_recipe(
        tmp_path, {"languages": {"select": ["python", "pyhton"]}, "license": {"extra_allow": ["Apache 2"]}}
    )
    problems = problems_of(path)
    assert problems["languages.select.1"] == "unknown language 'pyhton' (did you mean 'python'?)"
    assert "not an SPDX license id" in problems["license.extra_allow.0"]


def test_slurm_executor_without_settings_is_refused(tmp_path):
    path = write_recipe(tmp_path, {"executor": {"kind": "slurm"}})
    assert "slurm" in problems_of(path)["executor"]


def test_not_yaml_and_missing_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    assert "not valid YAML" in problems_of(bad)["<file>"]
    assert problems_of(tmp_path / "absent.yaml") == {"<file>": "recipe file does not exist"}


def test_relative_paths_resolve_against_the_recipe_folder(tmp_path):
    (tmp_path / "code").mkdir()
    path = write_recipe(tmp_path, {"source": {"kind": "folder", "path": "code"}})
    assert load_recipe(path).source.path == (tmp_path / "code").resolve()


def test_recipe_hash_changes_with_content(tmp_path):
    a = load_recipe(write_recipe(tmp_path, {}, name="a.yaml"))
    b = load_recipe(write_recipe(tmp_path, {"quality": {"max_file_bytes": 5000}}, name="b.yaml"))
    assert a.hash() == load_recipe(write_recipe(tmp_path, {}, name="c.yaml")).hash()
    assert a.hash() != b.hash()


def test_the_license_switch_left_on_keeps_older_recipes_hash(tmp_path):
    default = load_recipe(write_recipe(tmp_path, name="a.yaml")).hash()
    explicit_on = load_recipe(write_recipe(tmp_path, {"license": {"enabled": True}}, name="b.yaml")).hash()
    off = load_recipe(write_recipe(tmp_path, {"license": {"enabled": False}}, name="c.yaml")).hash()
    assert default == explicit_on != off


def test_cli_refuses_a_bad_recipe_before_any_work(tmp_path):
    from conftest import run_cli

    path = write_recipe(tmp_path, {"executor": {"taks": 4}})
    result = run_cli("dataset", "build", str(path), "--out", str(tmp_path / "release"), check=False)
    assert result.returncode == 2
    assert "executor.taks: unknown key (did you mean 'tasks'?)" in result.stderr
    assert not (tmp_path / "release").exists(), "nothing is written for a refused recipe"
