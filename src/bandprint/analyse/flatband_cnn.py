"""The image flat-band detector under its former name; it lives in
``bandprint.analyse.flatbands.cnn`` (this module re-exports it, so existing imports keep working).
"""

from __future__ import annotations

from bandprint.analyse.flatbands.cnn import (
    BLOCK_SHAPE,
    CONTEXT,
    DEFAULT_MODEL_PATH,
    RENDER_VARIANTS,
    FlatBandCNN,
    RenderVariant,
    TrainConfig,
    band_structure_blocks,
    blocks_dataset,
    cut_blocks,
    detect_flat_bands_image,
    detect_flat_bands_in_image,
    evaluate_blocks,
    fermi_shifted_copies,
    iter_detect_flat_bands_image,
    labelled_blocks,
    load_band_image,
    load_flatband_cnn,
    predict_blocks,
    render_for_blocks,
    save_flatband_cnn,
    train_flatband_cnn,
)

__all__ = [
    "BLOCK_SHAPE",
    "CONTEXT",
    "DEFAULT_MODEL_PATH",
    "RENDER_VARIANTS",
    "FlatBandCNN",
    "RenderVariant",
    "TrainConfig",
    "band_structure_blocks",
    "blocks_dataset",
    "cut_blocks",
    "detect_flat_bands_image",
    "detect_flat_bands_in_image",
    "evaluate_blocks",
    "fermi_shifted_copies",
    "iter_detect_flat_bands_image",
    "labelled_blocks",
    "load_band_image",
    "load_flatband_cnn",
    "predict_blocks",
    "render_for_blocks",
    "save_flatband_cnn",
    "train_flatband_cnn",
]
