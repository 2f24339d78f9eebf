"""Band structures made by ASE itself, for the ASE-JSON and C2DB reader tests.

``python tests/ase_fixtures.py`` rewrites the two committed fixtures:

* ``tests/data/ase/Al_free_electrons.json``: ``BandStructure.write()`` of ASE's free-electron
  calculator (``ase.calculators.test.FreeElectrons``) for fcc Al on the path ``GXWKGLUWLK,UX``.
* ``tests/data/c2db/<uid>/``: a synthetic result in C2DB's real layout (ASR's
  ``results-asr.bandstructure.json`` with ``bs_nosoc``/``bs_soc``, and the
  ``results-asr.database.material_fingerprint.json`` holding the uid), from free electrons in a
  MoS2 monolayer cell on Γ–M–K–Γ. The energies are not MoS2's; the layout is C2DB's.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.build import bulk, mx2
from ase.calculators.test import FreeElectrons
from ase.io.jsonio import MyEncoder
from ase.spectrum.band_structure import BandStructure

DATA = Path(__file__).parent / "data"
AL_FIXTURE = DATA / "ase" / "Al_free_electrons.json"


def free_electron_band_structure(
    atoms: Atoms, path: str, npoints: int, nvalence: int, nbands: int
) -> BandStructure:
    """ASE's own free-electron band structure; ``reference`` is the free-electron E_F."""
    bandpath = atoms.cell.bandpath(path, npoints=npoints, pbc=atoms.pbc)
    atoms.calc = FreeElectrons(nvalence=nvalence, kpts=bandpath, nbands=nbands)
    atoms.get_potential_energy()
    return atoms.calc.band_structure()


def aluminium() -> BandStructure:
    return free_electron_band_structure(bulk("Al"), "GXWKGLUWLK,UX", 50, 3, 8)


def mos2_monolayer() -> tuple[Atoms, BandStructure]:
    atoms = mx2("MoS2", vacuum=7.5)
    return atoms, free_electron_band_structure(atoms.copy(), "GMKG", 30, 18, 8)


def asr_uid(atoms: Atoms) -> str:
    """The C2DB uid as ASR's ``asr.database.material_fingerprint`` makes it."""
    dct = dict(atoms.arrays)
    dct["cell"] = np.asarray(atoms.cell)
    dct["pbc"] = atoms.pbc
    dct = {k: v.tolist() if isinstance(v, np.ndarray) else v for k, v in dct.items()}
    digest = hashlib.md5(json.dumps(dct, sort_keys=True).encode()).hexdigest()
    return f"{atoms.symbols.formula:abc}-{digest[:12]}"


def asr_result(data: dict, name: str) -> str:
    """An ASR result file as ``ASRResult.format_as('json')`` writes it."""
    result = {
        "object_id": f"{name}:Result",
        "constructor": f"{name}:Result",
        "args": [],
        "kwargs": {
            "data": data,
            "metadata": {"asr_name": name, "code_versions": {"asr": "0.4.1"}},
            "strict": True,
        },
    }
    return MyEncoder(indent=1).encode(result)


def soc_energies(e_skn: np.ndarray) -> np.ndarray:
    """Spinor bands ``[m, k]`` as ASR stores ``bs_soc['energies'] = e_km.T``: each band split
    by a k-dependent amount, float32 like ASR's ``singleprec_dict``."""
    e_kn = e_skn[0]
    split = 0.05 * np.linspace(0, 1, e_kn.shape[0])[:, None]
    e_km = np.sort(np.concatenate([e_kn - split, e_kn + split], axis=1), axis=1)
    return e_km.T.astype(np.float32)


def write_c2db_folder(root: Path, old_style: bool = False) -> Path:
    """A C2DB/ASR material folder named by its uid; returns the band-structure file."""
    atoms, bs = mos2_monolayer()
    uid = asr_uid(atoms)
    folder = root / uid
    folder.mkdir(parents=True, exist_ok=True)
    nosoc = bs.todict() | {"efermi": bs.reference}
    soc = bs.todict() | {
        "energies": soc_energies(bs.energies),
        "efermi": bs.reference + 0.01,
        "sz_mk": np.ones((2 * bs.energies.shape[2], len(bs.path.kpts)), dtype=np.float32),
    }
    data = {"bs_soc": soc, "bs_nosoc": nosoc}
    target = folder / "results-asr.bandstructure.json"
    if old_style:
        target.write_text(MyEncoder(indent=1).encode(data | {"__asr_name__": "asr.bandstructure"}))
    else:
        target.write_text(asr_result(data, "asr.bandstructure"))
        fingerprint = {"asr_id": uid.split("-")[1], "uid": uid}
        (folder / "results-asr.database.material_fingerprint.json").write_text(
            asr_result(fingerprint, "asr.database.material_fingerprint")
        )
    atoms.write(folder / "structure.json")
    return target


if __name__ == "__main__":
    AL_FIXTURE.parent.mkdir(parents=True, exist_ok=True)
    aluminium().write(AL_FIXTURE)
    print(AL_FIXTURE, write_c2db_folder(DATA / "c2db"))
