"""Every global name a module's functions use is bound in that module.

A function that uses a module it never imported (`shutil` in worker.py's
pull) fails only when that op runs, which no unit test may reach: the
symbol tables show it without running anything.
"""

import builtins
import os
import symtable

import pytest

PKG = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "vulntune_engine")
MODULES = sorted(f for f in os.listdir(PKG) if f.endswith(".py"))


def _module_bindings(table):
    return {s.get_name() for s in table.get_symbols() if s.is_assigned() or s.is_imported()}


def _globals_used(table):
    """(scope, name) for every name a nested scope reads as a global."""
    for child in table.get_children():
        for sym in child.get_symbols():
            if sym.is_global() and sym.is_referenced():
                yield child.get_name(), sym.get_name()
        yield from _globals_used(child)


@pytest.mark.parametrize("name", MODULES)
def test_no_unbound_globals(name):
    path = os.path.join(PKG, name)
    with open(path, encoding="utf-8") as f:
        table = symtable.symtable(f.read(), path, "exec")
    bound = _module_bindings(table) | set(dir(builtins)) | {"__file__", "__name__", "__doc__"}
    missing = sorted({f"{scope}: {sym}" for scope, sym in _globals_used(table) if sym not in bound})
    assert not missing, f"{name} uses names it never binds: {missing}"


def test_the_check_sees_a_missing_import():
    table = symtable.symtable("def pull():\n    shutil.rmtree('x')\n", "t.py", "exec")
    used = {sym for _, sym in _globals_used(table)}
    assert "shutil" in used and "shutil" not in _module_bindings(table)
