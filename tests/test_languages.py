"""Language detection by extension and well-known file names, from an extensible table."""

from bigcode_release.data.languages import LanguageTable


def test_table_covers_starcoders_languages():
    table = LanguageTable.load()
    assert len(table.languages) >= 86
    for name in (
        "python",
        "c",
        "cpp",
        "java",
        "javascript",
        "typescript",
        "go",
        "rust",
        "yaml",
        "json",
        "markdown",
        "dockerfile",
        "makefile",
        "shell",
        "sql",
        "cuda",
        "cython",
    ):
        assert name in table


def test_detection_by_extension_and_filename():
    table = LanguageTable.load()
    assert table.detect("pkg/mod.py") == "python"
    assert table.detect("include/x.H") == "c"  # extensions are case-insensitive
    assert table.detect("src/lib.hpp") == "cpp"
    assert table.detect("a/b/Dockerfile") == "dockerfile"
    assert table.detect("Makefile") == "makefile"
    assert table.detect("CMakeLists.txt") == "cmake"
    assert table.detect("notes.txt") is None
    assert table.detect("LICENSE") is None
    assert table.detect("lib/_speedups.cpython-311-x86_64-linux-gnu.so") is None


def test_data_formats_have_stricter_thresholds():
    table = LanguageTable.load()
    assert table.languages["json"].alpha_fraction == 0.5
    assert table.languages["yaml"].alpha_fraction == 0.5
    assert table.languages["python"].max_line_length == 1000
    assert table.languages["markdown"].max_line_length is None


def test_extra_table_adds_and_replaces_rows(tmp_path):
    extra = tmp_path / "extra.csv"
    extra.write_text(
        "language,extensions,filenames,max_line_length,avg_line_length,alnum_fraction,alpha_fraction\n"
        "toml,.toml,Pipfile,1000,100,0.25,0.5\n"
        "python,.py .pyi .bzl,,2000,100,0.25,\n"
    )
    table = LanguageTable.load(extra)
    assert table.detect("pyproject.toml") == "toml"
    assert table.detect("Pipfile") == "toml"
    assert table.detect("BUILD.bzl") == "python"
    assert table.languages["python"].max_line_length == 2000
