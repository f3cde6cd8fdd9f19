import json

import rasterio
from PIL import Image

from forestgaps_engine.cli.main import main
from forestgaps_engine.models.card import CARD_FILE, DEFAULT_MODEL_DIR


def test_demo_writes_geotiff_geopackage_and_quicklook(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert str(out / "quicklook.png") in printed
    with Image.open(out / "quicklook.png") as image:
        assert image.size == (512, 512)
    assert not list(out.rglob("*.partial*"))
    if (DEFAULT_MODEL_DIR / CARD_FILE).is_file():
        # The bundled model predicts from the DSM; the classic detector is the reference.
        with rasterio.open(out / "gap_mask_t5.tif") as dataset:
            assert dataset.crs.to_epsg() == 2154
            assert (dataset.read(1) == 1).any()
        assert (out / "gaps_t5.gpkg").stat().st_size > 0
        assert (out / "classic" / "gaps_t5.tif").is_file()
        assert "pixel IoU" in printed
        summary = json.loads((out / "summary.json").read_text())
        assert summary["model"]
    else:
        with rasterio.open(out / "gaps_t5.tif") as dataset:
            assert dataset.crs.to_epsg() == 2154
            assert dataset.read(1).max() > 0
        assert (out / "gaps_t5.gpkg").stat().st_size > 0
