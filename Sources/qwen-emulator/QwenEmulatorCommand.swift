import QwenEmulator
@main struct X { static func main() {} }
