"""Kedro's OmegaConfigLoader plus the selected use case's conf folder.

The use case is chosen by one setting, ``usecase_name`` in ``globals.yml`` (in the shipped conf: the
environment variable ``LAKEHOUSE_USECASE``, else the project's default use case). Its folder
``conf/<env>/usecases/<name>/`` adds parameters (``parameters*.yml``: the ``usecase`` contract, feed
rules, feature settings) and catalog entries (``catalog*.yml``: its silver and gold tables) to every
environment; other use cases' folders are not read. The parsed contract is also exposed to the
catalog as ``${globals:usecase.…}`` (e.g. ``merge_keys: ["${globals:usecase.entity_key}",
model_version]``), so that generic tables are keyed by the use case's columns without naming them.
"""

from __future__ import annotations

from typing import Any

from kedro.config import OmegaConfigLoader

from lakehouse_mlops.framework.errors import ConfigError

USECASE_KEYS = ("parameters", "catalog")


class UseCaseConfigLoader(OmegaConfigLoader):
    def __init__(
        self, conf_source: str, env: str | None = None, runtime_params: dict | None = None, **kwargs
    ):
        super().__init__(conf_source, env=env, runtime_params=runtime_params, **kwargs)
        self.usecase_name = self._globals.get("usecase_name")
        if self.usecase_name:
            folder = f"usecases/{self.usecase_name}"
            for key in USECASE_KEYS:
                patterns = self.config_patterns[key]
                self.config_patterns[key] = [*patterns, f"{folder}/{key}*", f"{folder}/{key}*/**"]

    def __getitem__(self, key: str) -> dict[str, Any]:
        # OmegaConf's resolvers are process-wide and Kedro registers `globals` once, bound to the
        # loader made last: another loader made since (a command, a test) would resolve this one's
        # ${globals:…} from its own globals. Bind it to this loader for every read.
        self._register_globals_resolver()
        if key == "catalog" and "usecase" not in self._globals:
            self._expose_contract()
        return super().__getitem__(key)

    def usecase_contract(self) -> dict[str, Any]:
        """The selected use case's ``usecase`` block (runtime parameters applied), checked to exist."""
        if "usecase" not in self._globals:
            self._expose_contract()
        return self._globals["usecase"]

    def _expose_contract(self) -> None:
        """Put the contract in the globals, where the catalog reads it (``${globals:usecase.…}``)."""
        if not self.usecase_name:
            raise ConfigError(
                f"{self.conf_source}/base/globals.yml: usecase_name is not set: name the use case to run "
                "(a folder of conf/base/usecases/), e.g. usecase_name: ${oc.env:LAKEHOUSE_USECASE,<name>}"
            )
        folder = f"usecases/{self.usecase_name}"
        contract = self["parameters"].get("usecase")
        if not isinstance(contract, dict):
            raise ConfigError(
                f"use case '{self.usecase_name}' has no contract: write its 'usecase:' block in "
                f"{self.conf_source}/base/{folder}/parameters_usecase.yml (or choose another use case "
                "with usecase_name in globals.yml / LAKEHOUSE_USECASE)"
            )
        if contract.get("name") != self.usecase_name:
            raise ConfigError(
                f"{self.conf_source}/base/{folder}: usecase.name is '{contract.get('name')}', but the "
                f"folder is selected as '{self.usecase_name}': make them equal"
            )
        self._globals = {**self._globals, "usecase": contract}
        self._globals_oc = None  # the globals resolver caches its view of the globals
