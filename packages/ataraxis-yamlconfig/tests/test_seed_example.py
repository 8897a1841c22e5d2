"""The YamlConfig example of the original README runs verbatim (importing from this distribution)."""

from dataclasses import dataclass
from pathlib import Path

from ataraxis_yamlconfig import YamlConfig


def test_the_readme_example_runs_verbatim() -> None:
    # From here to the end of the test: the README's example, with only the import line changed.
    import tempfile

    # All YamlConfig functionality is accessed via subclassing.
    @dataclass
    class MyConfig(YamlConfig):
        integer: int = 0
        string: str = "random"

    # Instantiates the test class using custom values that do not match the default initialization values.
    config = MyConfig(integer=123, string="hello")

    # Saves the instance data to a YAML file in a temporary directory. The saved data can be modified by directly
    # editing the saved .yaml file.
    tempdir = tempfile.TemporaryDirectory()  # Creates a temporary directory for illustration purposes.
    out_path = Path(tempdir.name).joinpath("my_config.yaml")  # Resolves the path to the output file.
    config.to_yaml(file_path=out_path)

    # Ensures that the cache file has been created.
    assert out_path.exists()

    # Creates a new MyConfig instance using the data inside the .yaml file.
    loaded_config = MyConfig.from_yaml(file_path=out_path)

    # Ensures that the loaded data matches the original MyConfig instance data.
    assert loaded_config.integer == config.integer
    assert loaded_config.string == config.string

    assert out_path.read_text() == "integer: 123\nstring: hello\n"
    tempdir.cleanup()


def test_the_example_file_can_be_edited_by_hand(tmp_path: Path) -> None:
    @dataclass
    class MyConfig(YamlConfig):
        integer: int = 0
        string: str = "random"

    path = tmp_path / "my_config.yml"
    MyConfig().to_yaml(file_path=path)
    path.write_text(path.read_text().replace("integer: 0", "integer: 7"))

    assert MyConfig.from_yaml(file_path=path) == MyConfig(integer=7, string="random")
