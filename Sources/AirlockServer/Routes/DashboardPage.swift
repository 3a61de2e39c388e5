/// `/airlock/dashboard`: hit rate, block rate, the refusal/failure split, tokens and spend over time, drawn in the browser from
/// `/airlock/stats` with inline SVG. No external script, style sheet or font. With an admin token, open it as
/// `/airlock/dashboard#token=<AIRLOCK_ADMIN_TOKEN>` (the fragment never leaves the browser).
enum DashboardPage {
    static let html = #"""
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><title>Airlock</title>
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <style>
        body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#1d2330;background:#f6f7f9}
        h1{font-size:20px;margin:0 0 4px} .sub{color:#667;margin-bottom:16px}
        .kpis{display:grid;grid-template-columns:repeat(6,1fr);gap:12px;margin-bottom:16px}
        .kpi{background:#fff;border-radius:8px;padding:12px 14px;box-shadow:0 1px 2px #0001}
        .kpi .v{font-size:24px;font-weight:600} .kpi .l{color:#667;font-size:12px;text-transform:uppercase}
        .card{background:#fff;border-radius:8px;padding:14px;box-shadow:0 1px 2px #0001;margin-bottom:16px}
        .row{display:grid;grid-template-columns:2fr 1fr;gap:16px} table{border-collapse:collapse;width:100%}
        td,th{text-align:left;padding:4px 6px;border-bottom:1px solid #eee} .legend span{margin-right:14px}
        .sw{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:4px;vertical-align:middle}
        select{font:inherit} .err{color:#b00020}
        </style></head><body>
        <h1>Airlock</h1><div class="sub">Fleet-wide, all instances sharing this Redis ·
        window <select id="w"><option>15m</option><option selected>1h</option><option>24h</option></select>
        · <span id="at"></span></div>
        <div class="kpis" id="kpis"></div>
        <div class="card"><b>Requests per minute by outcome</b>
        <div class="legend" id="legend"></div><svg id="chart" width="100%" height="220"></svg></div>
        <div class="row"><div class="card"><b>Refusals vs failures</b><table id="split"></table></div>
        <div class="card"><b>Top blocking rules</b><table id="rules"></table></div></div>
        <div class="row"><div class="card"><b>Tokens per minute</b><svg id="tokens" width="100%" height="140"></svg></div>
        <div class="card"><b>Spend</b> and <b>saved by the cache</b><table id="spend"></table></div></div>
        <div id="error" class="err"></div>
        <script>
        const colors={ok:"#3b82f6",cache_hits:"#10b981",blocked:"#f59e0b",refusals:"#8b5cf6",failures:"#ef4444"};
        const token=(new URLSearchParams(location.hash.slice(1))).get("token");
        const pct=x=>(100*x).toFixed(1)+"%";
        function el(tag,attrs,text){const e=document.createElementNS("http://www.w3.org/2000/svg",tag);
          for(const k in attrs)e.setAttribute(k,attrs[k]); if(text!==undefined)e.textContent=text; return e;}
        function kpis(s){const items=[["Requests",s.requests],["Cache hit rate",pct(s.hit_rate)],
          ["Block rate",pct(s.block_rate.prompt+s.block_rate.output)],["Refusal rate",pct(s.refusal_rate.total)],
          ["Failure rate",pct(s.failure_rate.total)],["Latency p50 / p99",
          (s.latency_ms.p50?s.latency_ms.p50.toFixed(1):"–")+" / "+(s.latency_ms.p99?s.latency_ms.p99.toFixed(0):"–")+" ms"]];
          document.getElementById("kpis").innerHTML=items.map(([l,v])=>`<div class="kpi"><div class="l">${l}</div><div class="v">${v}</div></div>`).join("");}
        function chart(series){const svg=document.getElementById("chart");svg.innerHTML="";
          const W=svg.clientWidth||900,H=220,pad=28,n=Math.max(series.length,1),bw=(W-pad*2)/n;
          const max=Math.max(1,...series.map(p=>p.requests));
          svg.appendChild(el("line",{x1:pad,y1:H-pad,x2:W-pad,y2:H-pad,stroke:"#ccc"}));
          svg.appendChild(el("text",{x:2,y:pad,"font-size":11,fill:"#667"},max));
          series.forEach((p,i)=>{let y=H-pad;const ok=Math.max(0,p.requests-p.cache_hits-p.blocked-p.refusals-p.failures);
            for(const [k,v] of [["ok",ok],["cache_hits",p.cache_hits],["blocked",p.blocked],["refusals",p.refusals],["failures",p.failures]]){
              const h=(H-pad*2)*v/max; if(h>0){y-=h; svg.appendChild(el("rect",{x:pad+i*bw+1,y:y,width:Math.max(1,bw-2),height:h,fill:colors[k]}));}}});
          const t=series.length?new Date(series[0].minute*1000):null;
          if(t)svg.appendChild(el("text",{x:pad,y:H-8,"font-size":11,fill:"#667"},t.toLocaleTimeString()));
          document.getElementById("legend").innerHTML=Object.entries(colors).map(([k,c])=>`<span><i class="sw" style="background:${c}"></i>${k.replace("_"," ")}</span>`).join("");}
        function split(s){const rows=[["<b>Refusals</b> (decisions)",s.refusal_rate.total]].concat(
          Object.entries(s.refusal_rate.by_kind).map(([k,v])=>["&nbsp;&nbsp;"+k,v]),[["<b>Failures</b> (accidents)",s.failure_rate.total]],
          Object.entries(s.failure_rate.by_kind).filter(([k,v])=>v>0).map(([k,v])=>["&nbsp;&nbsp;"+k,v]));
          document.getElementById("split").innerHTML=rows.map(([k,v])=>`<tr><td>${k}</td><td>${pct(v)}</td></tr>`).join("");
          document.getElementById("rules").innerHTML=s.top_blocking_rules.length?s.top_blocking_rules.map(r=>`<tr><td>${r.rule}</td><td>${r.count}</td></tr>`).join(""):"<tr><td>none</td></tr>";}
        const esc=t=>String(t).replace(/[&<>"']/g,c=>({"&":"&amp;","<":"&lt;",">":"&gt;",'"':"&quot;","'":"&#39;"}[c]));
        const money=m=>m.length?m.map(x=>(x.amount>=1?x.amount.toFixed(4):x.amount.toPrecision(6))+" "+esc(x.currency)).join(", "):"–";
        function tokens(series){const svg=document.getElementById("tokens");svg.innerHTML="";
          const W=svg.clientWidth||600,H=140,pad=24,n=Math.max(series.length,1),bw=(W-pad*2)/n;
          const max=Math.max(1,...series.map(p=>p.tokens));
          svg.appendChild(el("line",{x1:pad,y1:H-pad,x2:W-pad,y2:H-pad,stroke:"#ccc"}));
          svg.appendChild(el("text",{x:2,y:pad-6,"font-size":11,fill:"#667"},max));
          series.forEach((p,i)=>{const h=(H-pad*2)*p.tokens/max;
            if(h>0)svg.appendChild(el("rect",{x:pad+i*bw+1,y:H-pad-h,width:Math.max(1,bw-2),height:h,fill:"#0ea5e9"}));});}
        function spend(s){const rows=[["<b>Spend</b>",money(s.spend)],["<b>Saved by the cache</b>",money(s.saved)],
            ["Blocked prompts (estimate)",money(s.saved_estimate)],
            ["Tokens",["prompt","completion","cached","reasoning"].map(k=>k+" "+(s.tokens[k]||0)).join(", ")]]
            .concat(s.by_model.map(m=>["&nbsp;&nbsp;model "+esc(m.name),money([{amount:m.spend,currency:m.currency}])+" · saved "+money([{amount:m.saved,currency:m.currency}])]))
            .concat(s.by_tenant.map(m=>["&nbsp;&nbsp;tenant "+esc(m.name),money([{amount:m.spend,currency:m.currency}])+" · saved "+money([{amount:m.saved,currency:m.currency}])]));
          document.getElementById("spend").innerHTML=rows.map(([k,v])=>`<tr><td>${k}</td><td>${v}</td></tr>`).join("");}
        async function load(){try{const r=await fetch("stats?window="+document.getElementById("w").value,
            {headers:token?{Authorization:"Bearer "+token}:{}}); if(!r.ok)throw new Error("stats: HTTP "+r.status);
            const s=await r.json(); kpis(s); chart(s.series); split(s); tokens(s.series); spend(s);
            document.getElementById("at").textContent="updated "+new Date().toLocaleTimeString();
            document.getElementById("error").textContent="";}
          catch(e){document.getElementById("error").textContent=e.message;}}
        document.getElementById("w").onchange=load; load(); setInterval(load,5000);
        </script></body></html>
        """#
}
