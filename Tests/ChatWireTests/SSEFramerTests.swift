import Testing

import ChatWire

@Suite struct SSEFramerTests {
    let stream = Array(
        "data: {\"a\":1}\n\ndata:{\"b\":2}\n\n: comment\n\ndata: [DONE]\n\n".utf8)

    @Test func splitsWholeEventsAtEveryChunkBoundary() {
        for cut in 1..<stream.count {
            var framer = SSEFramer()
            var events = framer.append(stream[..<cut])
            events += framer.append(stream[cut...])
            #expect(events.count == 4, "cut at \(cut)")
            #expect(events.flatMap { $0 } == stream)
            #expect(framer.finish() == nil)
        }
    }

    @Test func byteAtATime() {
        var framer = SSEFramer()
        var events: [[UInt8]] = []
        for byte in stream { events += framer.append([byte]) }
        #expect(events.count == 4)
        #expect(events.flatMap { $0 } == stream)
    }

    @Test func crlfTerminators() {
        var framer = SSEFramer()
        let bytes = Array("data: x\r\n\r\ndata: y\r\n\r\n".utf8)
        let events = framer.append(bytes)
        #expect(events.count == 2)
        #expect(SSEFramer.data(of: events[0]) == Array("x".utf8))
    }

    @Test func unterminatedTailIsReturnedAtFinish() {
        var framer = SSEFramer()
        #expect(framer.append(Array("data: partial".utf8)).isEmpty)
        #expect(framer.finish() == Array("data: partial".utf8))
    }

    @Test func dataWithAndWithoutSpaceAndMultiline() {
        #expect(SSEFramer.data(of: Array("data: {\"a\":1}\n\n".utf8)) == Array("{\"a\":1}".utf8))
        #expect(SSEFramer.data(of: Array("data:{\"a\":1}\n\n".utf8)) == Array("{\"a\":1}".utf8))
        #expect(SSEFramer.data(of: Array("data: a\ndata: b\n\n".utf8)) == Array("a\nb".utf8))
        #expect(SSEFramer.data(of: Array(": keepalive\n\n".utf8)) == nil)
    }
}
