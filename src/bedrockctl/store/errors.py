"""Errors of the local store's database file (codes ``BRC-STO-00N``)."""

from __future__ import annotations

from bedrockctl.errors import BedrockctlError


class StoreFileError(BedrockctlError):
    code = "BRC-STO-001"
    title = "The store's database file cannot be used"
    default_remediation = (
        "Point store.url (BEDROCKCTL_STORE_URL) at bedrockctl's database, or restore the file from a backup."
    )
    exit_code = 3


class StoreFileEmpty(StoreFileError):
    code = "BRC-STO-002"
    title = "The store's database file is empty"
    default_remediation = (
        "The file has no content (a copy or a disk that failed?): restore it from a backup, or delete it to start "
        "a new, empty store."
    )


class StoreFileNotSQLite(StoreFileError):
    code = "BRC-STO-003"
    title = "The store's database file is not a SQLite database"
    default_remediation = (
        "Check store.url (BEDROCKCTL_STORE_URL): it names a file that is not a database. Point it at bedrockctl's "
        "database, or at a path that does not exist yet to start a new store."
    )


class StoreFileForeign(StoreFileError):
    code = "BRC-STO-004"
    title = "The store's database file belongs to another application"
    default_remediation = (
        "Check store.url (BEDROCKCTL_STORE_URL): the SQLite file has neither bedrockctl's application id nor its "
        "tables. Point it at bedrockctl's database, or at a path that does not exist yet to start a new store."
    )
