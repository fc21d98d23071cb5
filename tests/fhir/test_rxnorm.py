"""RxNorm codes of a product (issue 18 item 4): the reference file's schema ties a clinical
or branded drug (which has a strength) to one vial size; the export writes a product-level
code on the product concept and a strength-level code only on the vial of that size, and a
brand-level code only for a product of one brand; CDS Hooks orders find the product by any
of its codes. No RxNorm code is cited in the bundled data yet (docs/reference-gaps.md), so
the codes below are test values on a copy of the reference, never clinical data."""

from __future__ import annotations

import copy
import dataclasses
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from bontrack.cds.orders import product_of
from bontrack.fhir.codes import RXNORM
from bontrack.fhir.mapping import Context, product_concept, vial_concept
from bontrack.reference import Reference, default_reference
from bontrack.reference.schema import Product

REF = default_reference()
SOURCE = {"document": "openfda_ndc_15054_0530", "section": "test value", "quote": "test"}


def _rx(code: str, tty: str, vial_units: Any = None) -> dict[str, Any]:
    out = {"code": code, "display": f"test {tty}", "tty": tty, "source": SOURCE}
    if vial_units is not None:
        out["vial_units"] = Decimal(vial_units)
    return out


def _with(product: str, *codes: dict[str, Any]) -> Reference:
    data = copy.deepcopy(REF.products[product].model_dump())
    data["rxnorm"] = list(codes)
    products = {**REF.products, product: Product.model_validate(data)}
    return dataclasses.replace(REF, products=products)


def _rxnorm(cc: dict[str, Any]) -> list[str]:
    return [c["code"] for c in cc["coding"] if c["system"] == RXNORM]


def test_the_bundled_products_cite_no_rxnorm_code_yet():
    # a code entered later must come with its source (the schema's Cited) and this test
    # is updated with it
    assert [p.id for p in REF.products.values() if p.rxnorm] == []


def test_a_product_level_code_names_the_product_and_a_strength_code_only_its_vial():
    size = REF.products["abobotulinumtoxinA"].vials[0].size_units
    ref = _with("abobotulinumtoxinA", _rx("900001", "IN"), _rx("900002", "SBD", size),
                _rx("900003", "BN"))
    ctx = Context(ref)
    assert _rxnorm(product_concept(ctx, "abobotulinumtoxinA")) == ["900001", "900003"]
    assert _rxnorm(vial_concept(ctx, "abobotulinumtoxinA", size)) == [
        "900001", "900003", "900002"]
    other = next(v.size_units for v in ref.products["abobotulinumtoxinA"].vials
                 if v.size_units != size)
    assert _rxnorm(vial_concept(ctx, "abobotulinumtoxinA", other)) == ["900001", "900003"]


def test_a_brand_level_code_is_not_written_for_a_product_of_two_brands():
    p = REF.products["onabotulinumtoxinA"]
    assert len(p.brands) == 2
    size = p.vials[0].size_units
    ref = _with("onabotulinumtoxinA", _rx("900011", "IN"), _rx("900012", "BN"),
                _rx("900013", "SBD", size), _rx("900014", "SCD", size))
    ctx = Context(ref)
    assert _rxnorm(product_concept(ctx, "onabotulinumtoxinA")) == ["900011"]
    assert _rxnorm(vial_concept(ctx, "onabotulinumtoxinA", size)) == ["900011", "900014"]


def test_an_order_coded_only_with_rxnorm_names_its_product():
    ref = _with("incobotulinumtoxinA", _rx("900021", "IN"))
    cc = {"coding": [{"system": RXNORM, "code": "900021"}]}
    assert product_of(cc, ref) == "incobotulinumtoxinA"
    assert product_of(cc, REF) is None
    assert ref.product_by_rxnorm("900021") == "incobotulinumtoxinA"
    assert REF.product_by_rxnorm("900021") is None
    both = dataclasses.replace(ref, products={
        **ref.products, "abobotulinumtoxinA": _with("abobotulinumtoxinA", _rx(
            "900021", "IN")).products["abobotulinumtoxinA"]})
    assert both.product_by_rxnorm("900021") is None  # two products: not guessed
    assert product_of(cc, both) is None


@pytest.mark.parametrize(("code", "said"), [
    (_rx("900031", "SCD"), "has a strength"),
    (_rx("900032", "SBD", 123), "has a strength"),
    (_rx("900033", "IN", 100), "names the product"),
    (_rx("900034", "XX"), "tty"),
])
def test_a_code_tied_to_the_wrong_level_is_refused_naming_it(code, said):
    data = copy.deepcopy(REF.products["abobotulinumtoxinA"].model_dump())
    data["rxnorm"] = [code]
    with pytest.raises(ValidationError, match=said):
        Product.model_validate(data)
