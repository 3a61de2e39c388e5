// Named-entity benchmark (not a test): LAC on a 2 KB Chinese prompt of names, places and organisations, and the English
// model on a 2 KB English one, on one thread, p50/p99, and where LAC's time goes. Run by Benchmarks/bench-ner.sh in release mode.
import COpenBLAS
import Foundation
import NamedEntities

func milliseconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
}

func measure(_ iterations: Int, _ body: () -> Void) -> (p50: Double, p99: Double) {
    for _ in 0..<20 { body() }
    let clock = ContinuousClock()
    let samples = (0..<iterations).map { _ in milliseconds(clock.measure(body)) }.sorted()
    return (samples[samples.count / 2], samples[min(samples.count - 1, samples.count * 99 / 100)])
}

let directory = CommandLine.arguments.count > 1 ? CommandLine.arguments[1] : "models/lac-2.1.2"
guard FileManager.default.fileExists(atPath: directory + "/model/word_emb") else {
    print("LAC: no model at \(directory); run scripts/fetch-lac.sh")
    exit(1)
}
/// Resident memory of this process, from /proc/self/status (MB).
func residentMegabytes() -> Double {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
        let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
        let kilobytes = Double(line.split(separator: " ").dropFirst().first ?? "")
    else { return 0 }
    return kilobytes / 1024
}

openblas_set_num_threads(1)
let before = residentMegabytes()
let loadStarted = ContinuousClock.now
let lac = try LACModel(directory: directory)
let loadTime = ContinuousClock.now - loadStarted
let loaded = residentMegabytes()
let sentences = [
    "张伟住在北京市海淀区中关村大街27号，他在腾讯公司工作。", "请把包裹寄到广东省深圳市南山区科技园南区高新南一道8号，收件人陈建国。",
    "华为技术有限公司的总部位于深圳，北京大学的刘教授也去过。", "明天下午三点，王小明在上海浦东新区世纪大道100号等你。",
]
var chinese = ""
var index = 0
while chinese.utf8.count < 2048 {
    chinese += sentences[index % sentences.count]
    index += 1
}
let recognizer = ChineseEntityRecognizer(model: lac)
let units = lac.units(chinese)
let entities = recognizer.entities(in: chinese)
let whole = measure(200) { _ = recognizer.entities(in: chinese) }
let segmenting = measure(200) { _ = lac.units(chinese) }
let network = measure(200) { _ = lac.decode(units) }
print(
    String(
        format: "NER (LAC), %d-byte Chinese prompt (%d characters, %d units, %d entities), 1 thread: p50 %.2f ms  p99 %.2f ms (budget 10 ms)",
        chinese.utf8.count, chinese.count, units.count, entities.count, whole.p50, whole.p99))
print(
    String(
        format: "  of which segmenting and ids: p50 %.2f ms; the network, Viterbi and the marginals (one piece): p50 %.2f ms",
        segmenting.p50, network.p50))
print(
    String(
        format: "  loading the model: %.0f ms, resident memory +%.0f MB (process %.0f MB after a run)", milliseconds(loadTime),
        loaded - before, residentMegabytes()))

// The English model on a 2 KB English prompt of names, addresses, places and organisations.
let englishDirectory = CommandLine.arguments.count > 2 ? CommandLine.arguments[2] : "models/english-ner"
let englishBefore = residentMegabytes()
let englishStarted = ContinuousClock.now
let englishModel = try EnglishModel(directory: englishDirectory)
let englishLoad = ContinuousClock.now - englishStarted
let englishLoaded = residentMegabytes()
let englishSentences = [
    "Please send the signed contract to Margaret Okonkwo at 4821 Willow Creek Road, Springfield, before Friday.",
    "Yesterday I spoke with Dr. Henrik Lindqvist from Nordic Freight Solutions about the delayed shipment to Oslo.",
    "Can you draft a polite reminder for Priya Raghunathan? Her invoice from March is still open.",
    "The new office is at 17 Rue des Lilas, Lyon; ask Jean-Baptiste Moreau for the keys when you arrive.",
    "Summarize the attached notes and list every action item with its owner and its due date.",
]
var englishPrompt = ""
index = 0
while englishPrompt.utf8.count < 2048 {
    englishPrompt += englishSentences[index % englishSentences.count] + " "
    index += 1
}
let englishRecognizer = EnglishEntityRecognizer(model: englishModel)
let englishEntities = englishRecognizer.entities(in: englishPrompt)
let englishTime = measure(200) { _ = englishRecognizer.entities(in: englishPrompt) }
print(
    String(
        format: "NER (English model), %d-byte English prompt (%d entities), 1 thread: p50 %.2f ms  p99 %.2f ms (budget 10 ms)",
        englishPrompt.utf8.count, englishEntities.count, englishTime.p50, englishTime.p99))
print(
    String(
        format: "  loading the model: %.0f ms, resident memory +%.0f MB", milliseconds(englishLoad),
        englishLoaded - englishBefore))
let bothModels = ScriptRoutedRecognizer(chinese: recognizer, english: englishRecognizer)
let routedEnglish = measure(200) { _ = bothModels.entities(in: englishPrompt) }
let routedChinese = measure(200) { _ = bothModels.entities(in: chinese) }
print(
    String(
        format: "  both models behind one rule: the English prompt p50 %.2f ms (LAC: no Han, not read); the Chinese prompt p50 %.2f ms",
        routedEnglish.p50, routedChinese.p50))
