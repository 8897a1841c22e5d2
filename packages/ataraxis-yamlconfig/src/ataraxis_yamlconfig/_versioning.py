"""A config class's version and migrations: declared once per class, then used to read and upgrade older files.

See the public `migrations` module for the step types and the file format (the `$version` key).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from yaml.nodes import Node

from ._dotted import parse_path
from ._parse import locate
from .exceptions import ConfigClassError, ConfigVersionError, MigrationError, YamlConfigError, describe_value
from .migrations import VERSION_KEY, Migration, Rename, StepFailure, describe_step, run_step

_ATTRIBUTE = "_yamlconfig_versioning"


@dataclasses.dataclass(frozen=True)
class Versioning:
    """The version of a config class and the migrations that lead to it from version 1."""

    version: int = 1
    """The class's version: its files are written as this version, and files up to it are read."""
    migrations: tuple[Migration, ...] = ()
    """One migration per older version, in order: `migrations[0]` upgrades version 1 to 2."""
    declared: bool = False
    """Whether the class declares a version (only then does `to_yaml` write the `$version` key)."""


def declare(cls: type, version: int | None, migrations: Iterable[Migration]) -> None:
    """Records the `version` and `migrations` class keywords of a config class, after checking them.

    Args:
        cls: The config class.
        version: Its version (1 when only migrations are given would be wrong: they need a version to lead to).
        migrations: One migration from each older version to the next.

    Raises:
        ConfigClassError: The version is not an integer from 1 up, or the migrations do not lead from version 1
            to it, one version at a time, each exactly once.
    """
    listed = list(migrations)
    name = cls.__qualname__
    if type(version) is not int or version < 1:
        raise ConfigClassError(f"{name}: version must be an integer from 1 up, not {version!r}")
    for migration in listed:
        if not isinstance(migration, Migration):
            raise ConfigClassError(f"{name}: migrations holds {migration!r}, which is not a Migration")
    by_version = {migration.from_version: migration for migration in listed}
    if len(by_version) < len(listed):
        raise ConfigClassError(f"{name}: two migrations read the same version; write one per version")
    expected = list(range(1, version))
    if sorted(by_version) != expected:
        missing = [str(number) for number in expected if number not in by_version]
        extra = [str(number) for number in by_version if number not in expected]
        problems = []
        if missing:
            problems.append(f"no migration from version {', '.join(missing)}")
        if extra:
            problems.append(f"a migration from version {', '.join(extra)}, which is not older than {version}")
        raise ConfigClassError(
            f"{name} declares version {version}, so it needs one migration from each of its older versions "
            f"(1 to {version - 1}): {'; '.join(problems)}"
        )
    chain = tuple(by_version[number] for number in expected)
    setattr(cls, _ATTRIBUTE, Versioning(version, chain, declared=True))


def versioning_of(cls: type) -> Versioning:
    """Returns the version and migrations of a config class (inherited from its bases unless it declares its own).

    Args:
        cls: The config class.

    Returns:
        Its versioning; version 1 without migrations for a class that declares none.
    """
    versioning = getattr(cls, _ATTRIBUTE, None)
    return versioning if isinstance(versioning, Versioning) else Versioning()


def take_version(data: dict[Any, Any], versioning: Versioning, class_name: str) -> int:
    """Removes the `$version` key from a file's top-level mapping and returns the file's version.

    Args:
        data: The file's mapping (changed in place).
        versioning: The class's versioning.
        class_name: The class (for the error message).

    Returns:
        The file's version: 1 when the key is absent.

    Raises:
        ConfigVersionError: The version is not a positive integer, or is newer than the class's.
    """
    found = data.pop(VERSION_KEY, 1)
    supported = versioning.version
    if type(found) is not int or found < 1:
        problem = f"{VERSION_KEY}: expected a version number (an integer from 1 up), found {describe_value(found)}"
        raise ConfigVersionError(problem, found, supported)
    if found > supported:
        problem = (
            f"{VERSION_KEY}: the file is version {found} of {class_name}, newer than the version this program "
            f"reads ({supported}): it was written by a newer version of the program; update this one to read it"
        )
        raise ConfigVersionError(problem, found, supported)
    return found


def migrate(data: dict[str, Any], versioning: Versioning, version: int, class_name: str) -> dict[str, Any]:
    """Upgrades a file's top-level mapping from its version to the class's, one migration and one step at a time.

    Args:
        data: The mapping read from the file, without the `$version` key (changed in place).
        versioning: The class's versioning.
        version: The file's version.
        class_name: The class (for error messages).

    Returns:
        The migrated mapping.

    Raises:
        MigrationError: A step failed; the message names the migration, the step and what went wrong, and the
            step's exception is the `__cause__`.
    """
    for migration in versioning.migrations[version - 1 :]:
        for position, step in enumerate(migration.steps, start=1):
            try:
                data = run_step(step, data)
            except Exception as error:
                failure = isinstance(error, StepFailure)
                detail = str(error) if failure else f"{type(error).__name__}: {error}"
                problem = (
                    f"migrating {class_name} from version {migration.from_version} to {migration.to_version}, "
                    f"step {position} ({describe_step(step)}): {detail}"
                )
                cause = error.__cause__ if failure else error
                raise MigrationError(problem, migration.from_version, migration.to_version, position) from cause
    return data


def upgrade(
    data: dict[Any, Any], versioning: Versioning, class_name: str, path: Path, root: Node | None
) -> tuple[dict[Any, Any], int]:
    """Reads a file's version and migrates its mapping to the class's version, naming the file in any error.

    Args:
        data: The file's top-level mapping (changed in place).
        versioning: The class's versioning.
        class_name: The class (for error messages).
        path: The file.
        root: The file's root node, to find the line of the `$version` key.

    Returns:
        The mapping at the class's version, without the `$version` key, and the version the file was written as.

    Raises:
        ConfigVersionError: The file's version is newer than the class's, or not a version number.
        MigrationError: A migration step failed.
    """
    try:
        version = take_version(data, versioning, class_name)
        return migrate(data, versioning, version, class_name), version
    except YamlConfigError as error:
        error.file_path = path
        if isinstance(error, ConfigVersionError):
            error.line = locate(root, (VERSION_KEY,))
        raise


def renamed_keys(versioning: Versioning, version: int) -> list[tuple[tuple[str, ...], tuple[str, ...]]]:
    """Lists the keys that the `Rename` steps move when a file of a version is migrated, so comments can follow them.

    Args:
        versioning: The class's versioning.
        version: The file's version.

    Returns:
        Each renamed key's old and new path, in the order the steps run; renames of list items (`[*]`) are left
        out, since comments inside lists are not kept.
    """
    moves = []
    for migration in versioning.migrations[version - 1 :]:
        for step in migration.steps:
            if isinstance(step, Rename):
                old, new = parse_path(step.old), parse_path(step.new)
                if not any(part.wildcard for part in (*old, *new)):
                    moves.append((tuple(part.text for part in old), tuple(part.text for part in new)))
    return moves


def version_schema(versioning: Versioning, class_name: str) -> tuple[dict[str, Any], bool]:
    """Describes the `$version` key for the class's JSON Schema.

    Args:
        versioning: The class's versioning.
        class_name: The class.

    Returns:
        The key's schema (none for a class that declares no version) and whether the key is required: it is from
        version 2 on, since a file without it would be read as version 1.
    """
    if not versioning.declared:
        return {}, False
    description = (
        f"The version of {class_name}'s file format, written by to_yaml: from_yaml migrates older files. Do not edit."
    )
    return {VERSION_KEY: {"const": versioning.version, "description": description}}, versioning.version > 1
