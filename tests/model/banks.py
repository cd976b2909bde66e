"""The PyWavelets filter banks the model tests run on: twelve, from all seven discrete families."""

WAVELETS = [
    "haar",
    "db2",
    "db4",
    "sym5",
    "coif2",
    "bior2.2",
    "rbio3.1",
    "db8",
    "sym8",
    "coif1",
    "bior4.4",
    "dmey",
]
