"""Unit conversions the codes' native units need (CODATA 2018, as ASE and pymatgen use)."""

#: Bohr radius in Å.
BOHR = 0.529177210903
#: Hartree in eV.
HARTREE = 27.211386245988
