#!/usr/bin/env python3
"""Rebuild a float32 ONNX model from kokoro-onnx's dynamically quantized int8 export.

Every quantized op is replaced by its float op with dequantized weights
(see /work/shared/docs/onnx-int8-notes.md §2, §3, §6):
  MatMulInteger (+ Cast + Mul by x_scale*w_scale)        -> MatMul(x, W)
  ConvInteger (+ int32 bias Add + Cast + Mul by scale)    -> Conv(x, W, b)
  DynamicQuantizeLSTM                                     -> LSTM (W, R transposed to [D,4H,in])
  Gather(int8 table) + DequantizeLinear                   -> Gather(float table)
Weights, scales and zero points are found by following node inputs, never by name.
Afterwards every node not reachable backwards from the graph outputs is dropped
(DynamicQuantizeLinear, scale Muls, bias re-quantization), as are unused initializers.

usage: rebuild_f32.py [--in INT8.onnx] [--out F32.onnx]
"""
import argparse
import collections
import os

import numpy as np
import onnx
from onnx import helper, numpy_helper

DEFAULT_IN = "/work/shared/models/kokoro-v1.0.int8.onnx"
DEFAULT_OUT = "/work/ort-f32/kokoro-v1.0-f32.onnx"


class Graph:
    def __init__(self, g):
        self.g = g
        self.inits = {i.name: i for i in g.initializer}
        self.prod = {}
        self.cons = collections.defaultdict(list)
        for n in g.node:
            for o in n.output:
                self.prod[o] = n
            for i in n.input:
                self.cons[i].append(n)
        self.new_inits = {}
        self.cache = {}  # (op, quantized name, zp name, scale name) -> float initializer name
        self.uid = 0

    def arr(self, name):
        if name in self.new_inits:
            return self.new_inits[name]
        return numpy_helper.to_array(self.inits[name])

    def is_init(self, name):
        return name in self.inits

    def only_consumer(self, name, op_type):
        cs = self.cons[name]
        assert len(cs) == 1 and cs[0].op_type == op_type, (name, [c.op_type for c in cs])
        return cs[0]

    def dql_input(self, qname):
        """Float tensor that a DynamicQuantizeLinear output[0] was computed from."""
        n = self.prod[qname]
        assert n.op_type == "DynamicQuantizeLinear" and n.output[0] == qname, n.name
        return n

    def dequantized(self, key, base, make):
        """Shared quantized weights (ALBERT's 12 calls) get one shared float initializer."""
        if key not in self.cache:
            self.cache[key] = self.add_init(base, make())
        return self.cache[key]

    def add_init(self, base, array):
        name = f"{base}_f32"
        while name in self.inits or name in self.new_inits:
            self.uid += 1
            name = f"{base}_f32_{self.uid}"
        self.new_inits[name] = np.ascontiguousarray(array)
        return name


def dq(q, zp, s):
    # (q - zp) * s in float32; exact int subtraction, one f32 rounding of the product.
    return (q.astype(np.int32) - zp.astype(np.int32)).astype(np.float32) * s.astype(np.float32)


def weight_scale_from_mul(G, mul_node, dql):
    """mul_node = Mul(x_scale, w_scale) where x_scale = dql.output[1]; return w_scale's name."""
    assert mul_node.op_type == "Mul", mul_node.name
    ins = list(mul_node.input)
    assert dql.output[1] in ins, (mul_node.name, ins)
    other = [i for i in ins if i != dql.output[1]]
    assert len(other) == 1 and G.is_init(other[0]), (mul_node.name, other)
    return other[0]


def convert_matmul_integer(G, n):
    # A = xq (DQL), B = Wq int8 [in,out], a_zp = x_zp, b_zp = w_zp (per column)
    dql = G.dql_input(n.input[0])
    assert n.input[2] == dql.output[2]
    wq, wzp = G.arr(n.input[1]), G.arr(n.input[3])
    cast = G.only_consumer(n.output[0], "Cast")
    mul = G.only_consumer(cast.output[0], "Mul")
    smul_name = [i for i in mul.input if i != cast.output[0]][0]
    wsn = weight_scale_from_mul(G, G.prod[smul_name], dql)
    ws = G.arr(wsn)
    assert wq.ndim == 2 and wzp.shape in ((), (wq.shape[1],)) and ws.shape in ((), (wq.shape[1],))
    wname = G.dequantized(("mm", n.input[1], n.input[3], wsn), n.input[1].removesuffix("_quantized"),
                          lambda: dq(wq, wzp.reshape(1, -1) if wzp.ndim else wzp,
                                     ws.reshape(1, -1) if ws.ndim else ws))
    return helper.make_node("MatMul", [dql.input[0], wname], [mul.output[0]],
                            name=n.name.removesuffix("_quant") or n.name)


def convert_conv_integer(G, n):
    dql = G.dql_input(n.input[0])
    assert n.input[2] == dql.output[2]
    wq, wzp = G.arr(n.input[1]), G.arr(n.input[3])
    nxt = G.cons[n.output[0]]
    assert len(nxt) == 1
    bias_name = None
    if nxt[0].op_type == "Add":  # int32 bias: Add(conv, Reshape(Cast(Floor(Div(b, xs*ws)))))
        add = nxt[0]
        r = G.prod[[i for i in add.input if i != n.output[0]][0]]
        assert r.op_type == "Reshape"
        c = G.prod[r.input[0]]
        assert c.op_type == "Cast"
        f = G.prod[c.input[0]]
        assert f.op_type == "Floor"
        d = G.prod[f.input[0]]
        assert d.op_type == "Div" and G.is_init(d.input[0])
        bias_name = d.input[0]
        cast = G.only_consumer(add.output[0], "Cast")
    else:
        cast = G.only_consumer(n.output[0], "Cast")
    mul = G.only_consumer(cast.output[0], "Mul")
    smul_name = [i for i in mul.input if i != cast.output[0]][0]
    if bias_name is not None:
        assert d.input[1] == smul_name  # the same xs*ws used for the bias
    wsn = weight_scale_from_mul(G, G.prod[smul_name], dql)
    ws = G.arr(wsn)
    assert ws.shape == () and wzp.shape == (), "expected per-tensor conv quantization"
    wname = G.dequantized(("conv", n.input[1], n.input[3], wsn), n.input[1].removesuffix("_quantized"),
                          lambda: dq(wq, wzp, ws))
    ins = [dql.input[0], wname] + ([bias_name] if bias_name else [])
    return helper.make_node("Conv", ins, [mul.output[0]], name=n.name.removesuffix("_quant"),
                            **{a.name: helper.get_attribute_value(a) for a in n.attribute})


def convert_lstm(G, n):
    # contrib: X, W[D,in,4H], R[D,H,4H], B, seq_lens, h0, c0, P, W_scale, W_zp, R_scale, R_zp
    ins = list(n.input) + [""] * (12 - len(n.input))
    assert G.prod.get(ins[0]) is None or G.prod[ins[0]].op_type != "DynamicQuantizeLinear"

    def deq(qn, sn, zn):
        q, s, z = G.arr(qn), G.arr(sn), G.arr(zn)
        assert q.ndim == 3 and s.shape == (q.shape[0],) and z.shape == (q.shape[0],)
        # ONNX LSTM wants [D, 4H, in]; gate order (i, o, f, c) is the same in both ops.
        return G.dequantized(("lstm", qn, zn, sn), qn.removesuffix("_quantized"),
                             lambda: dq(q, z.reshape(-1, 1, 1), s.reshape(-1, 1, 1)).transpose(0, 2, 1))

    wname = deq(ins[1], ins[8], ins[9])
    rname = deq(ins[2], ins[10], ins[11])
    new_ins = [ins[0], wname, rname] + ins[3:8]
    while new_ins and new_ins[-1] == "":
        new_ins.pop()
    attrs = {a.name: helper.get_attribute_value(a) for a in n.attribute}
    return helper.make_node("LSTM", new_ins, list(n.output), name=n.name.removesuffix("_quant"), **attrs)


def convert_dequant_gather(G, n):
    # DequantizeLinear(Gather(Wq, idx), s, zp) -> Gather(W, idx)
    gth = G.prod[n.input[0]]
    assert gth.op_type == "Gather" and G.is_init(gth.input[0])
    assert len(G.cons[gth.output[0]]) == 1
    s = G.arr(n.input[1])
    zp = G.arr(n.input[2]) if len(n.input) > 2 and n.input[2] else np.zeros((), np.int8)
    assert s.shape == () and zp.shape == ()
    key = ("gather", gth.input[0], n.input[2] if len(n.input) > 2 else "", n.input[1])
    wname = G.dequantized(key, gth.input[0].removesuffix("_quantized"), lambda: dq(G.arr(gth.input[0]), zp, s))
    attrs = {a.name: helper.get_attribute_value(a) for a in gth.attribute}
    return helper.make_node("Gather", [wname, gth.input[1]], list(n.output),
                            name=gth.name.removesuffix("_quant"), **attrs), gth


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--in", dest="inp", default=DEFAULT_IN)
    ap.add_argument("--out", default=DEFAULT_OUT)
    args = ap.parse_args()

    m = onnx.load(args.inp)
    g = m.graph
    G = Graph(g)
    before = collections.Counter(n.op_type for n in g.node)
    n_before = len(g.node)

    new_nodes = []
    counts = collections.Counter()
    skip = set()
    for n in g.node:
        if n.op_type == "MatMulInteger":
            new_nodes.append(convert_matmul_integer(G, n)); counts["MatMulInteger->MatMul"] += 1
        elif n.op_type == "ConvInteger":
            new_nodes.append(convert_conv_integer(G, n)); counts["ConvInteger->Conv"] += 1
        elif n.op_type == "DynamicQuantizeLSTM":
            new_nodes.append(convert_lstm(G, n)); counts["DynamicQuantizeLSTM->LSTM"] += 1
        elif n.op_type == "DequantizeLinear":
            node, gth = convert_dequant_gather(G, n)
            skip.add(id(gth))
            new_nodes.append(node); counts["Gather+DequantizeLinear->Gather"] += 1
        else:
            new_nodes.append(n)
    new_nodes = [n for n in new_nodes if id(n) not in skip]

    # Replaced ops write to the names of the old float results (the scale Mul outputs), so the old
    # Cast/Mul nodes now also produce those names.  Keep the first producer of each name that we made.
    orig = {id(n) for n in g.node}
    made = {id(n) for n in new_nodes if id(n) not in orig}
    producer = {}
    for n in new_nodes:
        for o in n.output:
            if o and (o not in producer or id(n) in made):
                producer[o] = n

    # Dead-node removal: keep nodes reachable backwards from the graph outputs.
    keep = set()
    stack = [o.name for o in g.output]
    seen = set()
    while stack:
        t = stack.pop()
        if t in seen or not t:
            continue
        seen.add(t)
        n = producer.get(t)
        if n is None or id(n) in keep:
            continue
        keep.add(id(n))
        stack.extend(n.input)
    final_nodes = [n for n in new_nodes if id(n) in keep]
    used = set(i for n in final_nodes for i in n.input) | {o.name for o in g.output}

    all_inits = [i for i in g.initializer if i.name in used]
    all_inits += [numpy_helper.from_array(a, name) for name, a in G.new_inits.items() if name in used]
    produced = {o for n in final_nodes for o in n.output}
    vi = [v for v in g.value_info if v.name in produced]

    ng = helper.make_graph(final_nodes, g.name, list(g.input), list(g.output), all_inits, value_info=vi)
    domains = {n.domain for n in final_nodes}
    opsets = [o for o in m.opset_import if o.domain in domains or o.domain in ("", "ai.onnx")]
    nm = helper.make_model(ng, opset_imports=opsets, producer_name="warble-rebuild_f32",
                           ir_version=m.ir_version)

    after = collections.Counter(n.op_type for n in final_nodes)
    left = [k for k in after if k in ("MatMulInteger", "ConvInteger", "DynamicQuantizeLSTM",
                                      "DynamicQuantizeLinear", "DequantizeLinear", "QuantizeLinear")]
    assert not left, left
    print(f"nodes: {n_before} -> {len(final_nodes)}; initializers: {len(g.initializer)} -> {len(all_inits)}")
    for k, v in sorted(counts.items()):
        print(f"  {k}: {v}")
    removed = {k: before[k] - after.get(k, 0) for k in before if before[k] - after.get(k, 0) > 0}
    print("  removed by op type (net):", dict(sorted(removed.items())))
    print("  opsets:", [(o.domain or "ai.onnx", o.version) for o in opsets])
    nparams = sum(int(np.prod(i.dims)) for i in all_inits if i.data_type == onnx.TensorProto.FLOAT)
    print(f"  float32 initializer elements: {nparams}")

    try:
        onnx.checker.check_model(nm, full_check=False)
        print("onnx.checker: OK")
    except Exception as e:  # com.microsoft ops are not known to the checker in some versions
        print("onnx.checker:", type(e).__name__, str(e).splitlines()[0][:300])

    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    onnx.save(nm, args.out)
    print(f"wrote {args.out} ({os.path.getsize(args.out) / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
